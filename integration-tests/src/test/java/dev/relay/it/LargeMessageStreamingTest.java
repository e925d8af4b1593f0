package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.HostPort;
import dev.relay.server.sink.CaptureSink;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A message far larger than the relay's heap goes through whole: received into the spool and delivered from it
 * in bounded chunks (issue #7, streaming). The relay runs as a child process with a {@value #HEAP} heap and
 * relays a {@value #MIB} MiB message, generated line by line (never held whole by the test either), to a
 * capture sink that writes it to disk. A relay that buffered the message anywhere on its path would die with
 * an OutOfMemoryError.
 */
class LargeMessageStreamingTest {
    /**
     * Twice the smallest heap that worked (measured with this test, serial GC, C1: 12m relays the 50 MiB message;
     * 10m runs out at the first outbound connection even with a 1 MiB message, so the floor is the relay's fixed
     * cost, not the message). The margin is for a loaded machine and later growth; still less than half the message.
     */
    static final String HEAP = "-Xmx24m";
    static final int MIB = 50;
    private static final long SIZE = MIB * 1024L * 1024L;
    /** Every line: 78 characters and CRLF; the lines starting with a dot check the dot-stuffing both ways. */
    private static final int LINE = 80;
    private static final int DOT_EVERY = 997;

    @TempDir
    Path dir;

    @Test
    void aMessageMuchLargerThanTheHeapIsRelayedIntactByARelayThatStaysUp() throws Exception {
        int port = Loopback.freePort();
        int sinkPort = Loopback.freePort();
        Path outbox = dir.resolve("outbox");
        Path config = Files.writeString(dir.resolve("relay.yaml"), """
                listeners:
                  - { name: local, bind: "127.0.0.1:%d", tls: none }
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s", min-free-space: 0 }
                limits: { max-message-size: 60MiB }
                upstreams:
                  - { name: sink, url: "smtp://127.0.0.1:%d", tls: none }
                admin: { bind: "127.0.0.1:%d" }
                """.formatted(port, dir.resolve("spool"), sinkPort, Loopback.freePort()));
        Path log = dir.resolve("relay.log");
        Process relay = null;
        try (CaptureSink sink = new CaptureSink(new HostPort(Loopback.HOST, sinkPort), outbox, null, null, null)) {
            sink.start();
            relay = RelayProcess.start(List.of(HEAP), config, log, port);
            long t0 = System.nanoTime();
            Sent sent = submit(port);
            long t1 = System.nanoTime();
            assertThat(sent.reply()).startsWith("250 2.0.0");

            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                    .until(() -> sink.count() == 1 && emls(outbox).size() == 1);
            long t2 = System.nanoTime();
            Received got = read(emls(outbox).get(0));
            assertThat(got.lines()).as("lines from the first header on, in:\n%s", head(emls(outbox).get(0)))
                    .isEqualTo(sent.lines());
            assertThat(got.longest()).as("no line joined or split").isEqualTo(LINE - 2);
            assertThat(got.bytes()).as("bytes from the first header on").isEqualTo(sent.bytes());
            assertThat(got.sha256()).as("SHA-256 from the first header on").isEqualTo(sent.sha256());
            assertThat(relay.isAlive()).as("relay still running").isTrue();
            assertThat(Files.readString(log)).doesNotContain("OutOfMemoryError");
            System.out.printf("large message: %d MiB with %s: 250 after %d ms, at the sink %d ms later%n", MIB,
                    HEAP, TimeUnit.NANOSECONDS.toMillis(t1 - t0), TimeUnit.NANOSECONDS.toMillis(t2 - t1));
        } catch (AssertionError | RuntimeException e) {
            System.out.println("relay log (tail):\n" + RelayProcess.tail(log));
            throw e;
        } finally {
            if (relay != null) {
                relay.destroy();
                if (!relay.waitFor(20, TimeUnit.SECONDS)) {
                    relay.destroyForcibly();
                }
            }
        }
    }

    /** What the client sent from its first header line on, after dot-unstuffing (as the sink should store it). */
    record Sent(String reply, long bytes, long lines, String sha256) {}

    record Received(long bytes, long lines, int longest, String sha256) {}

    /** MAIL, RCPT and DATA on a plain connection (the relay trusts 127.0.0.1); the content is generated. */
    private static Sent submit(int port) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(Loopback.HOST, port), 10_000);
            socket.setSoTimeout(60_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                    StandardCharsets.US_ASCII));
            OutputStream out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
            expect(reply(in), "220");
            expect(command(out, in, "EHLO client.test"), "250");
            expect(command(out, in, "MAIL FROM:<big@example.com> SIZE=" + SIZE), "250");
            expect(command(out, in, "RCPT TO:<rcpt@example.org>"), "250");
            expect(command(out, in, "DATA"), "354");
            MessageDigest sha = sha256();
            long bytes = 0;
            long lines = 0;
            byte[] header = ("From: <big@example.com>\r\nTo: <rcpt@example.org>\r\nSubject: " + MIB
                    + " MiB\r\nMessage-ID: <large@client.test>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
            out.write(header);
            sha.update(header);
            bytes += header.length;
            lines += 6;
            byte[] line = new byte[LINE];
            for (long n = 0; bytes + LINE <= SIZE; n++) {
                fill(line, n);
                if (line[0] == '.') {
                    out.write('.'); // dot-stuffing (RFC 5321 4.5.2): the relay must remove it, and add it again
                }
                out.write(line);
                sha.update(line);
                bytes += LINE;
                lines++;
            }
            out.write(".\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String reply = reply(in);
            command(out, in, "QUIT");
            return new Sent(reply, bytes, lines, HexFormat.of().formatHex(sha.digest()));
        }
    }

    /** Line {@code n}: its number, then letters that shift with it; every {@value #DOT_EVERY}th starts with a dot. */
    private static void fill(byte[] line, long n) {
        int i = 0;
        if (n % DOT_EVERY == 0) {
            line[i++] = '.';
        }
        String number = Long.toString(n);
        for (int k = 0; k < number.length(); k++) {
            line[i++] = (byte) number.charAt(k);
        }
        line[i++] = ' ';
        while (i < LINE - 2) {
            line[i] = (byte) ('a' + (i + n) % 26);
            i++;
        }
        line[LINE - 2] = '\r';
        line[LINE - 1] = '\n';
    }

    /** The captured file from the client's first header line ("From: ") on, read in a stream. */
    private static Received read(Path eml) throws IOException {
        MessageDigest sha = sha256();
        long bytes = 0;
        long lines = 0;
        int longest = 0;
        boolean started = false;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(eml), 64 * 1024)) {
            byte[] line = new byte[1000];
            int len;
            while ((len = readLine(in, line)) > 0) {
                if (!started) {
                    started = len > 6 && new String(line, 0, 6, StandardCharsets.US_ASCII).equals("From: ");
                }
                if (started) {
                    sha.update(line, 0, len);
                    bytes += len;
                    lines++;
                    if (lines > 6) {
                        longest = Math.max(longest, len - 2);
                    }
                }
            }
        }
        return new Received(bytes, lines, longest, HexFormat.of().formatHex(sha.digest()));
    }

    /** One line with its line end into {@code line}; its length, 0 at the end; fails beyond 1000 bytes. */
    private static int readLine(InputStream in, byte[] line) throws IOException {
        int len = 0;
        int b;
        while ((b = in.read()) >= 0) {
            if (len == line.length) {
                throw new IOException("a line longer than " + line.length + " bytes at the sink");
            }
            line[len++] = (byte) b;
            if (b == '\n') {
                break;
            }
        }
        return len;
    }

    /** The captured file's first lines, for failure messages. */
    private static String head(Path eml) throws IOException {
        try (Stream<String> lines = Files.lines(eml, StandardCharsets.ISO_8859_1)) {
            return String.join("\n", lines.limit(24).toList());
        }
    }

    private static List<Path> emls(Path outbox) throws IOException {
        if (!Files.isDirectory(outbox)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(outbox)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".eml")).toList();
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String command(OutputStream out, BufferedReader in, String line) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return reply(in);
    }

    private static String reply(BufferedReader in) throws IOException {
        StringBuilder text = new StringBuilder();
        while (true) {
            String line = in.readLine();
            if (line == null) {
                throw new IOException("connection closed by the relay");
            }
            text.append(line);
            if (line.length() < 4 || line.charAt(3) == ' ') {
                return text.toString();
            }
            text.append('\n');
        }
    }

    private static void expect(String reply, String code) throws IOException {
        if (!reply.startsWith(code)) {
            throw new IOException("expected " + code + ", got: " + reply);
        }
    }
}
