package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.relay.config.ConfigLoader;
import dev.relay.core.auth.UsersFile;
import dev.relay.server.RelayServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Hostile input against a running relay over raw sockets, from a seeded generator (reproducible: the seed and
 * session number are in every failure): command lines, MAIL/RCPT parameters, AUTH blobs and DATA content with
 * CR/LF and NUL injected, overlong lines, invalid UTF-8 with and without SMTPUTF8, end-of-data look-alikes.
 * Checks: every reply is a well-formed SMTP reply, no read waits longer than 5 s (no hang), no ERROR is logged
 * and no exception escapes, no session is left open, heap growth stays bounded, and afterwards a well-formed
 * session still delivers. CI runs {@value #CI_SESSIONS} sessions; {@code -Dfuzz.sessions=20000 -Dfuzz.seed=N}
 * runs longer.
 */
class HostileInputFuzzTest {
    static final int CI_SESSIONS = 400;

    @TempDir
    Path dir;

    @Test
    void hostileSessionsGetWellFormedRepliesAndLeaveTheRelayServing() throws Exception {
        long seed = Long.getLong("fuzz.seed", 20261123L);
        int sessions = Integer.getInteger("fuzz.sessions", CI_SESSIONS);
        int port = Loopback.freePort();
        Files.writeString(dir.resolve("users"), UsersFile.line("app", "app-password".toCharArray()) + "\n");
        String yaml = """
                hostname: relay.test
                listeners:
                  - { name: local, bind: "127.0.0.1:%d", tls: none }
                auth: { users-file: "%s", trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s", min-free-space: 0 }
                queue: { min-backoff: 1h }
                upstreams:
                  - { name: nowhere, url: "smtp://127.0.0.1:%d", tls: none }
                admin: { bind: "127.0.0.1:%d" }
                limits: { max-message-size: 64KiB, auth-failure-delay: 0s, auth-max-failures: 1000000, idle-timeout: 5s }
                """.formatted(port, dir.resolve("users"), dir.resolve("spool"), Loopback.freePort(),
                Loopback.freePort());
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        root.addAppender(logs);
        long commands = 0;
        try (RelayServer relay = RelayServer.start(ConfigLoader.load(
                Files.writeString(dir.resolve("relay.yaml"), yaml), Map.of()).config())) {
            Random random = new Random(seed);
            long heapBefore = usedHeapAfterGc();
            long t0 = System.nanoTime();
            for (int i = 0; i < sessions; i++) {
                commands += new Session(port, new Random(random.nextLong()), "seed " + seed + " session " + i)
                        .run();
            }
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            await().atMost(Duration.ofSeconds(10)).until(() -> relay.listeners().get(0).openSessions() == 0);
            long heapGrowth = usedHeapAfterGc() - heapBefore;
            try (SimpleSmtpClient ok = new SimpleSmtpClient(port, 10_000)) {
                assertThat(ok.send("app@example.com", "b@example.org", "Subject: after the fuzz\r\n\r\nfine"))
                        .startsWith("250 2.0.0 Ok: queued as");
            }
            System.out.printf("fuzz: seed %d, %d sessions, %d commands in %d ms, heap growth %d KiB%n", seed,
                    sessions, commands, took.toMillis(), heapGrowth / 1024);
            assertThat(heapGrowth).as("heap growth after GC").isLessThan(64L << 20);
        } finally {
            root.detachAppender(logs);
        }
        assertThat(logs.list).as("nothing escaped as an error").noneMatch(e -> e.getLevel() == Level.ERROR)
                .noneMatch(e -> e.getThrowableProxy() != null && e.getLoggerName().startsWith("dev.relay"));
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
        }
        return rt.totalMemory() - rt.freeMemory();
    }

    /** One connection with a few generated commands. */
    private static final class Session {
        private final int port;
        private final Random r;
        private final String name;
        private InputStream in;
        private OutputStream out;

        Session(int port, Random r, String name) {
            this.port = port;
            this.r = r;
            this.name = name;
        }

        /** The number of commands sent. */
        int run() throws IOException {
            int sent = 0;
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(Loopback.HOST, port), 5000);
                s.setSoTimeout(5000);
                in = s.getInputStream();
                out = s.getOutputStream();
                if (!checkReply(reply())) {
                    return 0;
                }
                if (r.nextInt(3) > 0) {
                    write(ascii(r.nextBoolean() ? "EHLO fuzz.test\r\n" : "HELO fuzz.test\r\n"));
                    if (!checkReply(reply())) {
                        return 1;
                    }
                }
                int n = 1 + r.nextInt(8);
                for (int i = 0; i < n; i++) {
                    sent++;
                    write(commandLine());
                    String reply = reply();
                    if (!checkReply(reply)) {
                        break;
                    }
                    if (reply.startsWith("354")) {
                        write(data());
                        if (!checkReply(reply())) {
                            break;
                        }
                    }
                }
            } catch (SocketTimeoutException e) {
                throw new AssertionError(name + ": no reply within 5 s (hang)", e);
            } catch (java.net.SocketException e) {
                // reset by the relay after a protocol violation: acceptable
            }
            return sent;
        }

        /** False when the connection ended; fails on a malformed reply. */
        private boolean checkReply(String reply) {
            if (reply == null) {
                return false;
            }
            for (String line : reply.split("\n")) {
                assertThat(line).as(name + ": a well-formed reply line").matches("[2-5][0-9][0-9]([ -].*)?");
            }
            return !reply.startsWith("221") && !reply.startsWith("421");
        }

        private void write(byte[] b) throws IOException {
            out.write(b);
            out.flush();
        }

        private String reply() throws IOException {
            StringBuilder sb = new StringBuilder();
            while (true) {
                ByteArrayOutputStream line = new ByteArrayOutputStream();
                int b;
                while ((b = in.read()) >= 0 && b != '\n') {
                    line.write(b);
                }
                if (b < 0) {
                    return sb.isEmpty() ? null : sb.toString();
                }
                String l = line.toString(StandardCharsets.UTF_8).replace("\r", "");
                sb.append(sb.isEmpty() ? "" : "\n").append(l);
                if (l.length() < 4 || l.charAt(3) != '-') {
                    return sb.toString();
                }
            }
        }

        private static final String[] VERBS = {"EHLO ", "HELO ", "MAIL FROM:", "RCPT TO:", "DATA", "RSET", "NOOP",
            "QUIT", "AUTH PLAIN ", "AUTH LOGIN", "AUTH LOGIN ", "AUTH XOAUTH2 ", "AUTH CRAM-MD5", "STARTTLS", "VRFY ",
            "EXPN ", "HELP", "BDAT 10 LAST", "mail from:", "RCPT  TO: ", "", " ", "X"};

        private byte[] commandLine() {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            String verb = VERBS[r.nextInt(VERBS.length)];
            b.writeBytes(ascii(verb));
            switch (r.nextInt(6)) {
                case 0 -> b.writeBytes(address());
                case 1 -> {
                    b.writeBytes(address());
                    b.writeBytes(parameters());
                }
                case 2 -> b.writeBytes(blob());
                case 3 -> b.writeBytes(hostile(1 + r.nextInt(r.nextInt(10) == 0 ? 3000 : 40)));
                default -> {
                }
            }
            b.writeBytes(ascii("\r\n"));
            return b.toByteArray();
        }

        private byte[] address() {
            String[] forms = {"<a@example.com>", "<>", "<@a.example:u@b.example>", "<u%b.example@a.example>",
                "a@example.com", "<a@b@example.com>", "<\"q@x\"@example.com>", "<a@example.com", "<<a@b>>",
                "<" + "x".repeat(600) + "@example.com>", "<é@exämple.com>"};
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            b.writeBytes(forms[r.nextInt(forms.length)].getBytes(StandardCharsets.UTF_8));
            if (r.nextInt(4) == 0) {
                b.writeBytes(hostile(1 + r.nextInt(10)));
            }
            return b.toByteArray();
        }

        private byte[] parameters() {
            String[] params = {" SIZE=100", " SIZE=-1", " SIZE=99999999999999999999", " SIZE=", " BODY=8BITMIME",
                " BODY=BINARYMIME", " SMTPUTF8", " RET=HDRS", " ENVID=x", " NOTIFY=NEVER", " AUTH=<>", " X=Y",
                " =", " SIZE=100 SIZE=200"};
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int i = 0, n = 1 + r.nextInt(3); i < n; i++) {
                b.writeBytes(ascii(params[r.nextInt(params.length)]));
            }
            if (r.nextInt(3) == 0) {
                b.writeBytes(hostile(1 + r.nextInt(8)));
            }
            return b.toByteArray();
        }

        private byte[] blob() {
            byte[] raw = hostile(r.nextInt(r.nextInt(10) == 0 ? 2000 : 60));
            if (r.nextBoolean()) {
                return ascii(Base64.getEncoder().encodeToString(raw));
            }
            return raw;
        }

        /** Random bytes biased to the dangerous ones: CR, LF, NUL, 8-bit, invalid UTF-8, dots. */
        private byte[] hostile(int length) {
            byte[] b = new byte[length];
            for (int i = 0; i < length; i++) {
                b[i] = switch (r.nextInt(12)) {
                    case 0 -> '\r';
                    case 1 -> '\n';
                    case 2 -> 0;
                    case 3 -> (byte) (0x80 + r.nextInt(0x80)); // a lone continuation or lead byte
                    case 4 -> '.';
                    case 5 -> (byte) 0xc0; // overlong encoding lead
                    default -> (byte) (0x20 + r.nextInt(0x5f));
                };
            }
            return b;
        }

        private static final String[] FAKE_ENDS = {"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\r", "\r\n.\n", "\r.\r\n"};

        private byte[] data() {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            b.writeBytes(ascii("Subject: fuzz\r\n\r\n"));
            for (int i = 0, n = r.nextInt(20); i < n; i++) {
                switch (r.nextInt(5)) {
                    case 0 -> b.writeBytes(ascii(FAKE_ENDS[r.nextInt(FAKE_ENDS.length)] + "MAIL FROM:<x@y>\r\n"));
                    case 1 -> b.writeBytes(hostile(r.nextInt(r.nextInt(8) == 0 ? 5000 : 100)));
                    case 2 -> b.writeBytes(ascii(".." + "a".repeat(r.nextInt(1200)) + "\r\n"));
                    default -> b.writeBytes(ascii("line " + i + "\r\n"));
                }
            }
            b.writeBytes(ascii("\r\n.\r\n"));
            return b.toByteArray();
        }

        private static byte[] ascii(String s) {
            return s.getBytes(StandardCharsets.ISO_8859_1);
        }
    }
}
