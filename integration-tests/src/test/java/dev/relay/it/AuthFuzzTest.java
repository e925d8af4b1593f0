package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.relay.config.ConfigLoader;
import dev.relay.core.auth.UsersFile;
import dev.relay.server.RelayServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;

/**
 * Coverage-guided fuzzing of AUTH over a real session of a running relay (one per JVM, plain SMTP on loopback):
 * the payload of AUTH PLAIN (initial response or after the 334), and of AUTH LOGIN's user name and password, as
 * the fuzzer's bytes in base64, or the fuzzer's bytes as the raw response line. Properties: every reply is a
 * well-formed SMTP reply, AUTH succeeds (235) exactly when the decoded credentials are the user's, and the
 * session still answers NOOP afterwards. {@code mvn verify} replays the corpus in
 * {@code src/test/resources/dev/relay/it/AuthFuzzTestInputs/}.
 */
class AuthFuzzTest {
    private static final String USER = "app";
    private static final String PASSWORD = "app-password";
    private static final int PORT = Loopback.freePort();
    private static final RelayServer RELAY = start();

    private static RelayServer start() {
        try {
            Path dir = Files.createTempDirectory("relay-auth-fuzz");
            Files.writeString(dir.resolve("users"), UsersFile.line(USER, PASSWORD.toCharArray()) + "\n");
            String yaml = """
                    hostname: relay.test
                    listeners:
                      - { name: local, bind: "127.0.0.1:%d", tls: none }
                    auth: { users-file: "%s" }
                    spool: { dir: "%s", min-free-space: 0 }
                    queue: { min-backoff: 1h }
                    upstreams:
                      - { name: nowhere, url: "smtp://127.0.0.1:%d", tls: none }
                    admin: { bind: "127.0.0.1:%d" }
                    limits: { auth-failure-delay: 0s, auth-max-failures: 1000000000, idle-timeout: 5s }
                    """.formatted(PORT, dir.resolve("users"), dir.resolve("spool"), Loopback.freePort(),
                    Loopback.freePort());
            RelayServer relay = RelayServer.start(ConfigLoader.load(
                    Files.writeString(dir.resolve("relay.yaml"), yaml), Map.of()).config());
            Runtime.getRuntime().addShutdownHook(new Thread(relay::close));
            return relay;
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * The first byte picks the way (PLAIN initial response, PLAIN after 334, LOGIN, raw line after AUTH PLAIN);
     * the rest is the payload (for LOGIN: user name, NUL, password).
     */
    @FuzzTest(maxDuration = "5s")
    void authSucceedsExactlyForTheRightCredentials(byte[] input) throws IOException {
        if (input.length == 0) {
            return;
        }
        byte[] payload = Arrays.copyOfRange(input, 1, input.length);
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(Loopback.HOST, PORT), 5000);
            s.setSoTimeout(5000);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            assertThat(reply(in)).isNotNull().startsWith("220");
            send(out, "EHLO fuzz.test");
            assertThat(reply(in)).isNotNull().startsWith("250");
            String last;
            boolean right;
            switch (input[0] & 3) {
                case 0 -> {
                    send(out, "AUTH PLAIN " + b64(payload));
                    last = reply(in);
                    right = plainIsRight(payload);
                }
                case 1 -> {
                    send(out, "AUTH PLAIN");
                    assertThat(reply(in)).isNotNull().startsWith("334");
                    send(out, b64(payload));
                    last = reply(in);
                    right = plainIsRight(payload);
                }
                case 2 -> {
                    int nul = indexOf(payload, (byte) 0);
                    byte[] user = nul < 0 ? payload : Arrays.copyOfRange(payload, 0, nul);
                    byte[] password = nul < 0 ? new byte[0] : Arrays.copyOfRange(payload, nul + 1, payload.length);
                    send(out, "AUTH LOGIN");
                    assertThat(reply(in)).isNotNull().startsWith("334");
                    send(out, b64(user));
                    last = reply(in);
                    if (last != null && last.startsWith("334")) {
                        send(out, b64(password));
                        last = reply(in);
                    }
                    right = Arrays.equals(user, USER.getBytes(StandardCharsets.UTF_8))
                            && Arrays.equals(password, PASSWORD.getBytes(StandardCharsets.UTF_8));
                }
                default -> {
                    send(out, "AUTH PLAIN");
                    assertThat(reply(in)).isNotNull().startsWith("334");
                    byte[] line = new byte[payload.length];
                    for (int i = 0; i < payload.length; i++) { // one line: no CR or LF inside
                        line[i] = payload[i] == '\r' || payload[i] == '\n' ? (byte) ' ' : payload[i];
                    }
                    out.write(line);
                    out.write(new byte[] {'\r', '\n'});
                    out.flush();
                    last = reply(in);
                    String text = new String(line, StandardCharsets.ISO_8859_1).strip();
                    right = isBase64(text) && plainIsRight(Base64.getDecoder().decode(text));
                }
            }
            assertThat(last).as("a reply to the AUTH exchange").isNotNull();
            if (right) {
                assertThat(last).as("the right credentials").startsWith("235");
            } else {
                assertThat(last).as("wrong or malformed credentials").doesNotStartWith("235").doesNotStartWith("2");
            }
            String noop;
            try {
                send(out, "NOOP");
                noop = reply(in);
            } catch (java.net.SocketException e) {
                noop = null; // closed by the relay
            }
            if (noop == null) { // subethasmtp closes after its own 501 (a line that is not UTF-8: "\xff\xffA\x03")
                assertThat(last).as("only a closing refusal ends the session").matches("(421|501)[ -].*\\s*");
            } else {
                assertThat(noop).as("the session goes on").startsWith("250");
            }
        }
    }

    private static boolean plainIsRight(byte[] decoded) {
        String s = new String(decoded, StandardCharsets.UTF_8);
        return s.equals("\0" + USER + "\0" + PASSWORD) || s.equals(USER + "\0" + USER + "\0" + PASSWORD);
    }

    private static boolean isBase64(String s) {
        try {
            Base64.getDecoder().decode(s);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static String b64(byte[] b) {
        return b.length == 0 ? "=" : Base64.getEncoder().encodeToString(b);
    }

    private static int indexOf(byte[] b, byte x) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] == x) {
                return i;
            }
        }
        return -1;
    }

    private static void send(OutputStream out, String line) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    /** One whole reply (every line of a multi-line one), null if the relay closed; fails on a malformed line. */
    private static String reply(InputStream in) throws IOException {
        StringBuilder all = new StringBuilder();
        while (true) {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) != -1 && b != '\n') {
                line.write(b);
            }
            if (b == -1 && line.size() == 0 && all.isEmpty()) {
                return null; // the relay closed the connection
            }
            String l = line.toString(StandardCharsets.ISO_8859_1);
            assertThat(l).as("a reply line").matches("[2-5]\\d\\d[ -].*\r|[2-5]\\d\\d\r");
            all.append(l.strip()).append('\n');
            if (l.length() < 4 || l.charAt(3) == ' ' || l.charAt(3) == '\r') {
                return all.toString();
            }
        }
    }
}
