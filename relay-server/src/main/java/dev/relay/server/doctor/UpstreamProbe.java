package dev.relay.server.doctor;

import dev.relay.config.TlsMode;
import dev.relay.core.delivery.UpstreamTarget;
import dev.relay.core.delivery.UpstreamTrust;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;

/**
 * Diagnoses the path to one upstream step by step, the way delivery will use it: DNS, TCP to the configured
 * port, whether port 25 is open on this network (only reported, never used), the greeting, TLS with the same
 * trust and host name check as delivery, and AUTH with the configured credentials, then QUIT. No mail is sent.
 */
final class UpstreamProbe {
    private final UpstreamTarget u;
    private final Duration timeout;
    private final List<Check> checks = new ArrayList<>();
    private Socket socket;
    private BufferedReader in;
    private OutputStream out;

    UpstreamProbe(UpstreamTarget upstream, Duration timeout) {
        this.u = upstream;
        this.timeout = timeout;
    }

    List<Check> run() {
        String where = u.host() + ":" + u.port();
        InetAddress[] addresses;
        try {
            addresses = InetAddress.getAllByName(u.host());
            checks.add(Check.ok("dns", u.host() + " resolves to " + Arrays.stream(addresses)
                    .map(InetAddress::getHostAddress).toList()));
        } catch (UnknownHostException e) {
            checks.add(Check.fail("dns", "cannot resolve " + u.host(),
                    "check the host name in upstreams[].url and this machine's DNS (/etc/resolv.conf)"));
            return checks;
        }
        port25(addresses[0]);
        try {
            socket = new Socket();
            socket.connect(new InetSocketAddress(addresses[0], u.port()), millis());
            socket.setSoTimeout(millis());
            checks.add(Check.ok("tcp", "connected to " + where));
            if (u.tls() == TlsMode.IMPLICIT) {
                startTls(where);
            } else {
                attach(socket);
            }
            Reply greeting = read();
            if (greeting.code != 220) {
                checks.add(Check.fail("greeting", "expected 220, got: " + greeting,
                        "the server at " + where + " is not accepting mail now; check the port"));
                return checks;
            }
            checks.add(Check.ok("greeting", greeting.toString()));
            Reply ehlo = command("EHLO relay-doctor");
            if (u.tls() == TlsMode.STARTTLS) {
                if (!ehlo.text.toUpperCase(Locale.ROOT).contains("STARTTLS")) {
                    checks.add(Check.fail("tls", where + " does not offer STARTTLS; the relay never sends in "
                            + "plaintext", "use the provider's STARTTLS port (587) or smtps:// on 465"));
                    return checks;
                }
                Reply r = command("STARTTLS");
                if (r.code != 220) {
                    checks.add(Check.fail("tls", "STARTTLS refused: " + r, "check the provider's TLS settings"));
                    return checks;
                }
                startTls(where);
                ehlo = command("EHLO relay-doctor");
            }
            if (u.username() != null) {
                auth(ehlo);
            } else {
                checks.add(Check.info("auth", "no credentials configured: AUTH not tried"));
            }
            command("QUIT");
        } catch (ConnectException e) {
            checks.add(Check.fail("tcp", "connection to " + where + " refused",
                    "nothing listens there: check the port in upstreams[].url (587, 465 or 2525)"));
        } catch (SocketTimeoutException e) {
            checks.add(Check.fail(socket != null && socket.isConnected() ? "smtp" : "tcp",
                    "no answer from " + where + " within " + timeout.toSeconds() + "s",
                    "an outbound firewall or cloud network rule may block port " + u.port()
                            + "; allow it, or try the provider's other submission port"));
        } catch (SSLException e) {
            checks.add(Check.fail("tls", "TLS with " + where + " failed: " + e.getMessage(),
                    "if the upstream uses a private CA, add its certificate to upstreams[].trust"));
        } catch (IOException | GeneralSecurityException e) {
            checks.add(Check.fail("smtp", "talking to " + where + " failed: " + e.getMessage(), "see the detail"));
        } finally {
            close();
        }
        return checks;
    }

    private void port25(InetAddress address) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(address, 25), (int) Math.min(millis(), 3000));
            checks.add(Check.info("port-25", "outbound port 25 to " + u.host() + " is open on this network "
                    + "(the relay never uses it)"));
        } catch (IOException e) {
            checks.add(Check.info("port-25", "outbound port 25 to " + u.host() + " is blocked or closed on this "
                    + "network (normal in most clouds): that is what this relay is for; it uses port " + u.port()));
        }
    }

    private void startTls(String where) throws IOException, GeneralSecurityException {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {UpstreamTrust.trustManager(u.trust())}, null);
        SSLSocket ssl = (SSLSocket) ctx.getSocketFactory().createSocket(socket, u.host(), u.port(), true);
        SSLParameters p = ssl.getSSLParameters();
        p.setProtocols(UpstreamTrust.PROTOCOLS.toArray(String[]::new));
        p.setEndpointIdentificationAlgorithm("HTTPS");
        if (!Character.isDigit(u.host().charAt(0)) && !u.host().contains(":")) {
            p.setServerNames(List.of(new SNIHostName(u.host())));
        }
        ssl.setSSLParameters(p);
        ssl.startHandshake();
        X509Certificate leaf = (X509Certificate) ssl.getSession().getPeerCertificates()[0];
        long days = Duration.between(Instant.now(), leaf.getNotAfter().toInstant()).toDays();
        String detail = ssl.getSession().getProtocol() + ", certificate " + leaf.getSubjectX500Principal().getName()
                + " valid for " + days + " more days, host name " + u.host() + " matches";
        checks.add(days < 14 ? Check.warn("tls", detail, "the upstream's certificate expires soon")
                : Check.ok("tls", detail));
        socket = ssl;
        attach(ssl);
    }

    private void auth(Reply ehlo) throws IOException {
        String ext = ehlo.text.toUpperCase(Locale.ROOT);
        String user = u.username();
        String password = u.password() == null ? "" : u.password();
        Reply r;
        if (ext.matches("(?s).*AUTH[ =][^\\n]*PLAIN.*")) {
            r = command("AUTH PLAIN " + b64("\0" + user + "\0" + password));
        } else if (ext.matches("(?s).*AUTH[ =][^\\n]*LOGIN.*")) {
            r = command("AUTH LOGIN");
            if (r.code == 334) {
                r = command(b64(user));
            }
            if (r.code == 334) {
                r = command(b64(password));
            }
        } else {
            checks.add(Check.fail("auth", "the upstream offers neither AUTH PLAIN nor LOGIN",
                    "check that this is the provider's authenticated submission port"));
            return;
        }
        if (r.code == 235) {
            checks.add(Check.ok("auth", "authenticated as " + (user.equals(password) ? "****" : user)));
        } else {
            checks.add(Check.fail("auth", "credentials refused: " + r,
                    "check the user in upstreams[].url/username and the password or password-file"));
        }
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private void attach(Socket s) throws IOException {
        in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
        out = s.getOutputStream();
    }

    /** Sends one command line and reads the reply; replies, never commands, go into check details. */
    private Reply command(String line) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        return read();
    }

    private Reply read() throws IOException {
        StringBuilder text = new StringBuilder();
        String l;
        int code;
        do {
            l = in.readLine();
            if (l == null || l.length() < 3 || !l.substring(0, 3).chars().allMatch(Character::isDigit)) {
                throw new IOException("connection closed or not an SMTP reply: " + l);
            }
            code = Integer.parseInt(l.substring(0, 3));
            text.append(l.length() > 4 ? l.substring(4) : "").append('\n');
        } while (l.length() > 3 && l.charAt(3) == '-');
        return new Reply(code, text.toString().strip());
    }

    private record Reply(int code, String text) {
        @Override
        public String toString() {
            return code + " " + text.replace('\n', ' ');
        }
    }

    private int millis() {
        return (int) timeout.toMillis();
    }

    private void close() {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing a probe connection: nothing to report
            }
        }
    }
}
