package dev.relay.it;

import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Properties;

/** Test helpers: free loopback ports and a Jakarta Mail client that submits like an application does. */
final class Loopback {
    static final String HOST = "127.0.0.1";

    private Loopback() {}

    /** Ports handed out in this JVM: the kernel may offer a port again once its test socket is closed. */
    private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * A port free now and never handed out before in this JVM: two calls for one configuration (a listener and the
     * admin endpoint, say) could otherwise get the same port, as a verify run did once ("already used by
     * admin.bind"). It comes from below the kernel's ephemeral range, so an outgoing connection (a test's client, the
     * relay's own delivery) cannot take it as its local port between this choice and the relay's bind: a CI run's
     * install test failed so ("Address already in use" on a port chosen a moment before).
     */
    static int freePort() {
        int top = EPHEMERAL_LOW - 1;
        for (int attempt = 0; ; attempt++) {
            int candidate = top > 20_000 && attempt < 1000
                    ? 20_000 + java.util.concurrent.ThreadLocalRandom.current().nextInt(top - 20_000 + 1) : 0;
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(false);
                s.bind(new java.net.InetSocketAddress(InetAddress.getByName(HOST), candidate), 1);
                int port = s.getLocalPort();
                if (HANDED_OUT.add(port) || attempt >= 1100) {
                    return port;
                }
            } catch (java.net.BindException taken) {
                // in use: another
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** The first port of the kernel's ephemeral range (32768 when it cannot be read, Linux's default). */
    private static final int EPHEMERAL_LOW = ephemeralLow();

    private static int ephemeralLow() {
        try {
            String range = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/net/ipv4/ip_local_port_range"));
            return Integer.parseInt(range.trim().split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return 32768;
        }
    }

    enum Tls { STARTTLS, IMPLICIT }

    /** Submits one message with AUTH over STARTTLS or implicit TLS, trusting the relay's self-signed cert. */
    static void submit(int port, Tls tls, String user, String password, String from, String to, String subject,
                       String text) throws MessagingException {
        submit(port, tls, user, password, from, java.util.List.of(to), subject, text);
    }

    /** The same, to several recipients in one transaction. */
    static void submit(int port, Tls tls, String user, String password, String from, java.util.List<String> to,
                       String subject, String text) throws MessagingException {
        Properties p = new Properties();
        String proto = tls == Tls.IMPLICIT ? "smtps" : "smtp";
        p.put("mail." + proto + ".host", HOST);
        p.put("mail." + proto + ".port", Integer.toString(port));
        p.put("mail." + proto + ".auth", Boolean.toString(user != null));
        p.put("mail." + proto + ".ssl.trust", "*");
        p.put("mail." + proto + ".ssl.checkserveridentity", "false");
        p.put("mail." + proto + ".connectiontimeout", "5000");
        p.put("mail." + proto + ".timeout", "10000");
        if (tls == Tls.STARTTLS) {
            p.put("mail.smtp.starttls.enable", "true");
            p.put("mail.smtp.starttls.required", "true");
        }
        Session session = Session.getInstance(p);
        MimeMessage m = new MimeMessage(session);
        m.setFrom(new InternetAddress(from));
        m.setRecipients(Message.RecipientType.TO, InternetAddress.parse(String.join(",", to)));
        m.setSubject(subject);
        m.setText(text);
        try (Transport t = session.getTransport(proto)) {
            if (user != null) {
                t.connect(HOST, port, user, password);
            } else {
                t.connect();
            }
            t.sendMessage(m, m.getAllRecipients());
        }
    }
}
