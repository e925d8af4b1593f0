package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.ConfigLoader;
import dev.relay.config.RelayConfig;
import dev.relay.config.HostPort;
import dev.relay.server.RelayServer;
import dev.relay.server.sink.CaptureSink;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spool on real file systems that fill up or break, under load, with a running relay: nothing acknowledged
 * with 250 is lost, every refusal is a 4xx, and {@code /readyz} follows (unready while broken, ready again after).
 * Needs root to mount (CI runs as root): skipped with the reason otherwise, failed when CI=true.
 */
class StorageFaultTest {
    private static final Pattern MESSAGE_ID = Pattern.compile("(?m)^Message-ID: <(sf-[a-z0-9-]+)@relay\\.test>\r?$");

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newHttpClient();
    private final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    private final List<String> refusals = new CopyOnWriteArrayList<>();
    private final List<String> wrong = new CopyOnWriteArrayList<>(); // 5xx, a lost connection, anything not 250/4xx
    private final AtomicInteger next = new AtomicInteger();

    /**
     * A 16 MiB tmpfs, no free-space reserve (min-free-space 0): a 32 MiB message fills it to ENOSPC in the middle
     * of its DATA while small messages keep coming. Then a filler keeps it full: the relay stays unready, refusing
     * with 452; once the filler goes it is ready again by itself and every acknowledged message is delivered.
     */
    @Test
    void aTmpfsSpoolFilledToEnospcMidDataRefusesWith4xxLosesNothingAndReadinessFollows() throws Exception {
        try (RequiredMount mounts = RequiredMount.require()) {
            Path mnt = mounts.tmpfs(dir.resolve("mnt"), "16m");
            Path outbox = dir.resolve("outbox");
            int sinkPort = Loopback.freePort();
            Relay r = new Relay(mnt.resolve("spool"), sinkPort, "64MiB");
            try (CaptureSink sink = new CaptureSink(new HostPort(Loopback.HOST, sinkPort), outbox, null, null, null);
                 RelayServer relay = RelayServer.start(r.config)) {
                sink.start();
                assertThat(readyz(r).statusCode()).isEqualTo(200);
                AtomicBoolean sending = new AtomicBoolean(true);
                List<Thread> clients = clients(r.port, 3, sending);
                awaitAcknowledged(20);

                String big = sendLarge(r.port, 32L * 1024 * 1024);
                assertThat(big).as("the message that filled the disk mid-DATA").startsWith("452 4.3.1");
                assertThat(storeFailures(relay, "no_space")).isPositive();

                stop(clients, sending);

                // full, and kept full (a recycled slot file would take a small message without a new block: this
                // one needs new blocks)
                Path filler = mnt.resolve("filler");
                AtomicBoolean keepFull = new AtomicBoolean(true);
                Thread topUp = Thread.ofPlatform().daemon().start(() -> {
                    while (keepFull.get()) {
                        try {
                            fill(filler);
                        } catch (IOException e) {
                            wrong.add("filler: " + e);
                            return;
                        }
                        java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
                    }
                });
                try (SimpleSmtpClient smtp = new SimpleSmtpClient(r.port, 30_000)) {
                    // 64 KiB each: more than a reused slot file holds, so it needs new blocks. The first may still
                    // find a block the filler has not taken yet; one of a few does not
                    String bigger = ("x".repeat(900) + "\r\n").repeat(64);
                    String reply = "";
                    for (int i = 0; i < 20 && !reply.startsWith("452"); i++) {
                        reply = send(smtp, "sf-full-" + i, bigger);
                        if (reply.startsWith("250")) {
                            acknowledged.add("sf-full-" + i);
                        }
                    }
                    assertThat(reply).startsWith("452 4.3.1");
                    await().atMost(Duration.ofSeconds(10)).until(() -> readyz(r).statusCode() == 503);
                    assertThat(readyz(r).body()).contains("No space left on device");
                    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10))
                            .until(() -> readyz(r).statusCode() == 503); // the test writes keep failing
                    assertThat(send(smtp, "sf-full-refused", "x")).as("refused from the failure, the disk still full")
                            .startsWith("452 4.3.1");
                } finally {
                    keepFull.set(false);
                    topUp.join(10_000);
                }
                Files.delete(filler);
                await().atMost(Duration.ofSeconds(15)).until(() -> readyz(r).statusCode() == 200);
                try (SimpleSmtpClient smtp = new SimpleSmtpClient(r.port, 30_000)) {
                    assertThat(send(smtp, "sf-after", "x")).startsWith("250");
                    acknowledged.add("sf-after");
                }

                assertThat(wrong).isEmpty();
                assertThat(refusals).allMatch(reply -> reply.startsWith("452 4.3.1"));
                awaitDelivered(outbox);
                await().atMost(Duration.ofSeconds(30)).until(() -> relay.queue().queued() == 0);
            }
        }
    }

    /**
     * A loop-mounted ext4 (errors=remount-ro) under load turned read-only by a simulated disk error: every store
     * fails with EROFS from then on while the directory still looks writable. The relay refuses with 4xx and is
     * unready until stopped; the image, checked and mounted again (a fresh copy, as an operator would after
     * replacing the disk), holds every acknowledged message: the relay restarted on it is ready and delivers them.
     */
    @Test
    void anExt4SpoolTurnedReadOnlyUnderLoadRefusesWith4xxLosesNothingAndReadinessFollows() throws Exception {
        try (RequiredMount mounts = RequiredMount.require()) {
            Path image = dir.resolve("spool.img");
            Path mnt = mounts.ext4(image, dir.resolve("mnt"), "64M");
            Path outbox = dir.resolve("outbox");
            int sinkPort = Loopback.freePort();
            try (CaptureSink sink = new CaptureSink(new HostPort(Loopback.HOST, sinkPort), outbox, null, null, null)) {
                sink.start();
                Relay r = new Relay(mnt.resolve("spool"), sinkPort, "10MiB");
                try (RelayServer relay = RelayServer.start(r.config)) {
                    assertThat(readyz(r).statusCode()).isEqualTo(200);
                    AtomicBoolean sending = new AtomicBoolean(true);
                    List<Thread> clients = clients(r.port, 4, sending);
                    awaitAcknowledged(100);

                    mounts.triggerError(image);
                    await().atMost(Duration.ofSeconds(30)).until(() -> readyz(r).statusCode() == 503);
                    // the first store fails with EIO (its fdatasync as the journal aborts), the next with EROFS
                    assertThat(readyz(r).body()).containsAnyOf("Read-only file system", "Input/output error");
                    int before = refusals.size();
                    await().atMost(Duration.ofSeconds(30)).until(() -> refusals.size() >= before + 20);
                    stop(clients, sending);
                    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10))
                            .until(() -> readyz(r).statusCode() == 503); // the test writes keep failing
                    assertThat(storeFailures(relay, "read_only") + storeFailures(relay, "io_error")).isPositive();
                    assertThat(wrong).isEmpty();
                    assertThat(refusals).isNotEmpty().allMatch(reply -> reply.startsWith("4"));
                }
                mounts.unmount(mnt);
                Path fresh = dir.resolve("fresh.img");
                Files.copy(image, fresh);
                String fsck = RequiredMount.run("e2fsck", "-fy", fresh.toString());
                assertThat(fsck == null || fsck.contains("exit 1:")).as("e2fsck: %s", fsck).isTrue();
                Path again = mounts.mountExt4(fresh, dir.resolve("mnt2"));
                Relay r2 = new Relay(again.resolve("spool"), sinkPort, "10MiB");
                try (RelayServer relay = RelayServer.start(r2.config)) {
                    await().atMost(Duration.ofSeconds(15)).until(() -> readyz(r2).statusCode() == 200);
                    awaitDelivered(outbox);
                    await().atMost(Duration.ofSeconds(30)).until(() -> relay.queue().queued() == 0);
                }
            }
        }
    }

    /** A relay on {@code spool}, no free-space reserve, delivering to the sink on {@code sinkPort}. */
    private final class Relay {
        final int port = Loopback.freePort();
        final int adminPort = Loopback.freePort();
        final RelayConfig config;

        Relay(Path spool, int sinkPort, String maxMessageSize) throws IOException {
            String yaml = """
                    listeners:
                      - { name: local, bind: "127.0.0.1:%d", tls: none }
                    auth: { trusted-networks: ["127.0.0.1/32"] }
                    spool: { dir: "%s", min-free-space: 0 }
                    limits: { max-message-size: %s }
                    queue: { retry-delay: 200ms }
                    upstreams:
                      - { name: sink, url: "smtp://127.0.0.1:%d", tls: none }
                    admin: { bind: "127.0.0.1:%d" }
                    """.formatted(port, spool, maxMessageSize, sinkPort, adminPort);
            Path file = Files.writeString(dir.resolve("relay-" + port + ".yaml"), yaml);
            config = ConfigLoader.load(file, Map.of()).config();
        }
    }

    private HttpResponse<String> readyz(Relay r) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + r.adminPort + "/readyz"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static double storeFailures(RelayServer relay, String reason) {
        return relay.registry().get("relay.spool.store.failures").tag("reason", reason).counter().count();
    }

    /** Clients sending small messages with unique Message-IDs until told to stop; replies sorted as they come. */
    private List<Thread> clients(int port, int n, AtomicBoolean sending) {
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < n; c++) {
            threads.add(Thread.ofPlatform().name("storage-client-" + c).daemon().start(() -> {
                while (sending.get()) {
                    try (SimpleSmtpClient smtp = new SimpleSmtpClient(port, 30_000)) {
                        while (sending.get()) {
                            String id = "sf-" + next.incrementAndGet();
                            String reply = send(smtp, id, ("x".repeat(98) + "\r\n").repeat(20));
                            if (reply.startsWith("250")) {
                                acknowledged.add(id);
                            } else if (reply.startsWith("421")) {
                                break; // limits.max-messages-per-connection: the relay closes, a new connection
                            } else if (reply.startsWith("4")) {
                                refusals.add(reply);
                            } else {
                                wrong.add(id + ": " + reply);
                            }
                        }
                    } catch (IOException e) {
                        wrong.add(java.time.Instant.now() + " connection: " + e + " at "
                                + java.util.Arrays.toString(e.getStackTrace()));
                    }
                }
            }));
        }
        return threads;
    }

    /** One transaction; the first reply that is not the expected one, or the reply to the data. */
    private static String send(SimpleSmtpClient smtp, String id, String text) throws IOException {
        String reply = smtp.command("MAIL FROM:<app@example.com>");
        if (!reply.startsWith("250")) {
            return reply;
        }
        reply = smtp.command("RCPT TO:<rcpt@example.org>");
        if (reply.startsWith("250")) {
            reply = smtp.command("DATA");
            if (reply.startsWith("354")) {
                reply = smtp.command("Message-ID: <" + id + "@relay.test>\r\nSubject: storage fault\r\n\r\n"
                        + text + "\r\n.");
            }
        }
        if (!reply.startsWith("250")) {
            smtp.command("RSET");
        }
        return reply;
    }

    private static void stop(List<Thread> clients, AtomicBoolean sending) throws InterruptedException {
        sending.set(false);
        for (Thread t : clients) {
            t.join(60_000);
        }
    }

    /** One message of {@code bytes} bytes of body (lines of 900 characters) over a plain socket; its final reply. */
    private static String sendLarge(int port, long bytes) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(Loopback.HOST, port), 10_000);
            s.setSoTimeout(120_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(),
                    StandardCharsets.US_ASCII));
            OutputStream out = s.getOutputStream();
            reply(in);
            for (String c : List.of("EHLO big.test", "MAIL FROM:<app@example.com>", "RCPT TO:<rcpt@example.org>",
                    "DATA")) {
                out.write((c + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                String r = reply(in);
                if (!r.startsWith("2") && !r.startsWith("3")) {
                    return r;
                }
            }
            byte[] line = ("x".repeat(900) + "\r\n").getBytes(StandardCharsets.US_ASCII);
            out.write("Message-ID: <big@relay.test>\r\nSubject: too big for the disk\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            for (long sent = 0; sent < bytes; sent += line.length) {
                out.write(line);
            }
            out.write(".\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return reply(in);
        }
    }

    private static String reply(BufferedReader in) throws IOException {
        String line;
        do {
            line = in.readLine();
            if (line == null) {
                throw new IOException("connection closed by the relay");
            }
        } while (line.length() > 3 && line.charAt(3) == '-');
        return line;
    }

    private static void fill(Path filler) throws IOException {
        byte[] block = new byte[64 * 1024];
        try (OutputStream out = Files.newOutputStream(filler, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND)) {
            while (true) {
                out.write(block);
            }
        } catch (IOException e) {
            if (!String.valueOf(e.getMessage()).contains("No space left on device")) {
                throw e;
            }
        }
    }

    /** Waits until at least {@code n} messages were acknowledged; fails at once when a client saw a wrong reply. */
    private void awaitAcknowledged(int n) {
        await().atMost(Duration.ofSeconds(60)).failFast("a client saw a reply that is neither 250 nor 4xx",
                () -> assertThat(wrong).isEmpty()).until(() -> acknowledged.size() >= n);
    }

    /** Waits until every acknowledged message is in the sink's outbox. */
    private void awaitDelivered(Path outbox) {
        Set<String> delivered = new HashSet<>();
        Set<Path> read = new HashSet<>();
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            try (Stream<Path> files = Files.list(outbox)) {
                for (Path f : files.filter(f -> f.toString().endsWith(".eml")).toList()) {
                    if (read.add(f)) {
                        Matcher m = MESSAGE_ID.matcher(Files.readString(f, StandardCharsets.ISO_8859_1));
                        if (m.find()) {
                            delivered.add(m.group(1));
                        }
                    }
                }
            }
            Set<String> missing = new HashSet<>(acknowledged);
            missing.removeAll(delivered);
            assertThat(missing).as("acknowledged with 250, not (yet) delivered").isEmpty();
        });
    }
}
