package dev.relay.it;

import dev.relay.core.tls.KeyMaterial;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A scripted smarthost for end-to-end fault tests: it accepts any number of connections on 127.0.0.1 and runs
 * a script for each, given the connection's number (1, 2, ...). {@link Conn#serve()} is a well-behaved server
 * (STARTTLS when it has a certificate, AUTH PLAIN/LOGIN, MAIL/RCPT/DATA/RSET/QUIT) whose behaviour the script
 * adjusts before calling it: refuse a recipient, refuse AUTH, stall or drop at a step. Every message it accepts
 * is recorded with its envelope; every line it reads is recorded with whether TLS was on.
 */
final class FakeSmarthost implements AutoCloseable {
    interface Script {
        void run(int connection, Conn c) throws Exception;
    }

    /** A message the fake accepted with 250 after the final dot. */
    record Mail(int connection, String from, List<String> to, String data) {}

    /** A line the client sent, and whether the connection was under TLS then. */
    record Line(int connection, boolean tls, String text) {}

    private final ServerSocket server;
    private final SSLContext tls;
    private final Script script;
    private final AtomicInteger connections = new AtomicInteger();
    private final List<Mail> mails = new CopyOnWriteArrayList<>();
    private final List<Line> lines = new CopyOnWriteArrayList<>();
    private final List<Socket> open = new CopyOnWriteArrayList<>();

    /** Listens on {@code port} (0: any free port); {@code certificate} null: no STARTTLS offered. */
    FakeSmarthost(int port, KeyMaterial certificate, Script script) throws IOException, GeneralSecurityException {
        this.tls = certificate == null ? null : context(certificate);
        this.script = script;
        server = new ServerSocket(port, 50, InetAddress.getByName(Loopback.HOST));
        Thread.ofVirtual().name("fake-smarthost-" + server.getLocalPort()).start(this::acceptLoop);
    }

    static SSLContext context(KeyMaterial material) throws GeneralSecurityException, IOException {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        char[] pass = "fake".toCharArray();
        ks.setKeyEntry("fake", material.key(), pass, material.chain().toArray(Certificate[]::new));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, pass);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                int n = connections.incrementAndGet();
                open.add(s);
                Thread.ofVirtual().start(() -> {
                    try (s) {
                        s.setSoTimeout(20_000);
                        script.run(n, new Conn(n, s));
                    } catch (Exception e) {
                        // the relay hung up or a step timed out: the connection simply ends
                    } finally {
                        open.remove(s);
                    }
                });
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    int port() {
        return server.getLocalPort();
    }

    int connections() {
        return connections.get();
    }

    List<Mail> mails() {
        return List.copyOf(mails);
    }

    List<Line> lines() {
        return List.copyOf(lines);
    }

    /** Mails whose data contains {@code text}. */
    List<Mail> mailsWith(String text) {
        return mails.stream().filter(m -> m.data().contains(text)).toList();
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : open) {
            s.close();
        }
    }

    final class Conn {
        final int number;
        private Socket socket;
        private InputStream in;
        private OutputStream out;
        private boolean underTls;

        /** Reply to each RCPT address: null accepts it with 250. */
        Function<String, String> rcpt = a -> null;
        /** Reply to AUTH once the credentials are in: 235 accepts. */
        String auth = "235 2.7.0 Authentication successful";
        /** Offer STARTTLS (when the fake has a certificate). */
        boolean offerStartTls = true;
        /** Offer AUTH (also before TLS, to see whether the client uses it there). */
        boolean offerAuth = true;
        /** The reply to the final dot of an accepted message. */
        String dataReply = "250 2.0.0 Ok: queued";
        /** Offer SMTPUTF8 (RFC 6531). */
        boolean offerSmtpUtf8;
        /** The command (e.g. "EHLO", "MAIL", "DATA-END") at which the server goes silent and only reads. */
        String stallAt;
        /** Close the connection after this many lines of message data. */
        int dropAfterDataLines = -1;
        /** After STARTTLS's 220, send bytes that are no TLS handshake and close. */
        boolean breakHandshake;
        /**
         * After STARTTLS's 220, answer the client's hello with a hand-made TLS 1.1 ServerHello and record what the
         * client sends back (a line "TLS-REPLY: alert" or "TLS-REPLY: other" or "TLS-REPLY: closed").
         */
        boolean offerOnlyTls11;
        /** The context used for STARTTLS; the fake's own by default (another one serves another certificate). */
        SSLContext startTlsContext = tls;

        Conn(int number, Socket socket) throws IOException {
            this.number = number;
            use(socket);
        }

        private void use(Socket s) throws IOException {
            socket = s;
            in = new BufferedInputStream(s.getInputStream());
            out = s.getOutputStream();
        }

        void reply(String... replyLines) throws IOException {
            StringBuilder sb = new StringBuilder();
            for (String line : replyLines) {
                sb.append(line).append("\r\n");
            }
            out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        /** The next line, CRLF removed; null at end of stream. */
        String read() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) >= 0 && b != '\n') {
                line.write(b);
            }
            if (b < 0 && line.size() == 0) {
                return null;
            }
            String s = line.toString(StandardCharsets.UTF_8);
            s = s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            lines.add(new Line(number, underTls, s));
            return s;
        }

        /** Goes silent: reads (and records) until the client gives up and closes. */
        void stall() throws IOException {
            while (read() != null) {
                // the client's lines, if any, stay unanswered
            }
        }

        /** Greeting, then the command loop until QUIT or end of stream. */
        void serve() throws IOException {
            if ("GREETING".equals(stallAt)) {
                stall();
                return;
            }
            reply("220 fake.test ESMTP");
            String from = null;
            List<String> to = new ArrayList<>();
            for (String line = read(); line != null; line = read()) {
                String verb = (line.length() >= 4 ? line.substring(0, 4) : line).toUpperCase(java.util.Locale.ROOT);
                if (verb.equals(stallAt) || line.toUpperCase(java.util.Locale.ROOT).startsWith("STARTTLS")
                        && "STARTTLS".equals(stallAt)) {
                    stall();
                    return;
                }
                switch (verb) {
                    case "EHLO", "HELO" -> {
                        List<String> ext = new ArrayList<>(List.of("fake.test hello", "8BITMIME"));
                        if (startTlsContext != null && offerStartTls && !underTls) {
                            ext.add("STARTTLS");
                        }
                        if (offerAuth) {
                            ext.add("AUTH PLAIN LOGIN");
                        }
                        if (offerSmtpUtf8) {
                            ext.add("SMTPUTF8");
                        }
                        String[] r = new String[ext.size()];
                        for (int i = 0; i < r.length; i++) {
                            r[i] = "250" + (i == r.length - 1 ? " " : "-") + ext.get(i);
                        }
                        reply(r);
                    }
                    case "STAR" -> {
                        reply("220 2.0.0 go ahead");
                        if (breakHandshake) {
                            out.write("this is no TLS server hello\r\n".getBytes(StandardCharsets.US_ASCII));
                            out.flush();
                            return;
                        }
                        if (offerOnlyTls11) {
                            tls11ServerHello();
                            return;
                        }
                        SSLSocket s = (SSLSocket) startTlsContext.getSocketFactory().createSocket(socket,
                                socket.getInetAddress().getHostAddress(), socket.getPort(), true);
                        s.setUseClientMode(false);
                        s.startHandshake();
                        use(s);
                        underTls = true;
                    }
                    case "AUTH" -> {
                        String[] words = line.split(" ");
                        if (words.length >= 2 && words[1].equalsIgnoreCase("LOGIN")) {
                            reply("334 VXNlcm5hbWU6");
                            read();
                            reply("334 UGFzc3dvcmQ6");
                            read();
                        } else if (words.length == 2) {
                            reply("334 ");
                            read();
                        }
                        reply(auth);
                    }
                    case "MAIL" -> {
                        from = address(line);
                        to.clear();
                        reply("250 2.1.0 Ok");
                    }
                    case "RCPT" -> {
                        String a = address(line);
                        String refusal = rcpt.apply(a);
                        if (refusal == null) {
                            to.add(a);
                            reply("250 2.1.5 Ok");
                        } else {
                            reply(refusal);
                        }
                    }
                    case "DATA" -> {
                        if (to.isEmpty()) {
                            reply("554 5.5.1 No valid recipients");
                            continue;
                        }
                        reply("354 End data with <CR><LF>.<CR><LF>");
                        StringBuilder data = new StringBuilder();
                        int n = 0;
                        for (String d = read(); ; d = read()) {
                            if (d == null) {
                                return;
                            }
                            if (d.equals(".")) {
                                break;
                            }
                            if (++n == dropAfterDataLines) {
                                return;
                            }
                            data.append(d.startsWith(".") ? d.substring(1) : d).append("\r\n");
                        }
                        if ("DATA-END".equals(stallAt)) {
                            stall();
                            return;
                        }
                        mails.add(new Mail(number, from, List.copyOf(to), data.toString()));
                        reply(dataReply);
                        to.clear();
                    }
                    case "RSET" -> {
                        to.clear();
                        reply("250 2.0.0 Ok");
                    }
                    case "NOOP" -> reply("250 2.0.0 Ok");
                    case "QUIT" -> {
                        reply("221 2.0.0 Bye");
                        return;
                    }
                    default -> reply("502 5.5.2 Command not recognized");
                }
            }
        }

        private void tls11ServerHello() throws IOException {
            byte[] header = in.readNBytes(5); // the client's hello record: type, version, length
            in.readNBytes(((header[3] & 0xff) << 8) | (header[4] & 0xff));
            ByteArrayOutputStream hello = new ByteArrayOutputStream();
            hello.write(new byte[] {0x03, 0x02}); // TLS 1.1
            hello.write(new byte[32]); // server random
            hello.write(0); // no session id
            hello.write(new byte[] {0x00, 0x2f}); // TLS_RSA_WITH_AES_128_CBC_SHA
            hello.write(0); // no compression
            byte[] body = hello.toByteArray();
            ByteArrayOutputStream record = new ByteArrayOutputStream();
            record.write(new byte[] {0x16, 0x03, 0x02, 0, (byte) (body.length + 4)});
            record.write(new byte[] {0x02, 0, 0, (byte) body.length});
            record.write(body);
            out.write(record.toByteArray());
            out.flush();
            int first = in.read();
            String what = first == 0x15 ? "alert" : first < 0 ? "closed" : "other";
            lines.add(new Line(number, false, "TLS-REPLY: " + what));
        }

        private static String address(String line) {
            int lt = line.indexOf('<');
            int gt = line.indexOf('>', lt + 1);
            return lt < 0 || gt < 0 ? "" : line.substring(lt + 1, gt);
        }
    }
}
