package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.HostPort;
import dev.relay.server.sink.CaptureSink;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM during a load, as Kubernetes or systemd stop the relay: the process exits within its grace period, in
 * the documented order (listeners, then deliveries, then the spool), and every message that got 250 is delivered,
 * by this process or, from the spool, by the next one.
 */
class GracefulShutdownTest {
    private static final int CLIENTS = 6;
    private static final Duration GRACE = Duration.ofSeconds(5);
    /** JVM exit after the hook, under a loaded machine. */
    private static final Duration MARGIN = Duration.ofSeconds(5);
    private static final Pattern MESSAGE_ID = Pattern.compile("(?m)^Message-ID: <(term-[0-9]+)@relay\\.test>\r?$");

    @TempDir
    Path dir;

    private final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    private final AtomicInteger attempts = new AtomicInteger();
    private final AtomicBoolean sending = new AtomicBoolean(true);

    @Test
    void sigtermDuringLoadExitsWithinTheGraceAndLosesNothing() throws Exception {
        int port = Loopback.freePort();
        int sinkPort = Loopback.freePort();
        Path outbox = dir.resolve("outbox");
        Path spool = dir.resolve("spool");
        Path config = Files.writeString(dir.resolve("relay.yaml"), """
                listeners:
                  - { name: local, bind: "127.0.0.1:%d", tls: none }
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s", min-free-space: 0 }
                queue: { retry-delay: 200ms }
                upstreams:
                  - { name: sink, url: "smtp://127.0.0.1:%d", tls: none }
                admin: { bind: "127.0.0.1:%d" }
                """.formatted(port, spool, sinkPort, Loopback.freePort()));
        Path log = dir.resolve("relay.log");
        try (CaptureSink sink = new CaptureSink(new HostPort(Loopback.HOST, sinkPort), outbox, null, null, null)) {
            sink.start();
            Process relay = RelayProcess.start(config, log, port, "--grace", GRACE.toString());
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                clients.add(Thread.ofPlatform().name("term-client-" + c).daemon().start(() -> client(port)));
            }
            Process next = null;
            try {
                await().atMost(Duration.ofSeconds(60)).until(() -> acknowledged.size() >= 300);
                long t0 = System.nanoTime();
                relay.destroy(); // SIGTERM: the shutdown hook runs RelayServer.stop(grace)
                boolean exited = relay.waitFor(GRACE.plus(MARGIN).toMillis(), TimeUnit.MILLISECONDS);
                Duration took = Duration.ofNanos(System.nanoTime() - t0);
                assertThat(exited).as("relay exited within grace %s + %s", GRACE, MARGIN).isTrue();
                System.out.printf("graceful shutdown: exited %d ms after SIGTERM with %d acknowledged%n",
                        took.toMillis(), acknowledged.size());
                sending.set(false);
                for (Thread t : clients) {
                    t.join(10_000);
                }
                String text = Files.readString(log);
                assertThat(text).contains("stopping (grace PT5S)", "stopped; queued messages stay in");
                int listenersClosed = text.indexOf("listeners closed: no new connections");
                int deliveriesStopped = text.indexOf("deliveries stopped");
                int spoolClosed = text.indexOf("spool closed");
                assertThat(listenersClosed).as("order of the stop").isPositive().isLessThan(deliveriesStopped);
                assertThat(deliveriesStopped).isLessThan(spoolClosed);

                next = RelayProcess.start(config, log, port, "--grace", GRACE.toString()); // drains what the first process left in the spool
                Set<String> delivered = new HashSet<>();
                Set<String> read = new HashSet<>();
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                    scan(outbox, read, delivered);
                    assertThat(delivered).containsAll(acknowledged);
                });
            } finally {
                sending.set(false);
                for (Process p : new Process[] {relay, next}) {
                    if (p != null && p.isAlive()) {
                        p.destroyForcibly();
                        p.waitFor(20, TimeUnit.SECONDS);
                    }
                }
            }
        } catch (AssertionError | RuntimeException e) {
            System.out.println("relay log (tail):\n" + RelayProcess.tail(log));
            throw e;
        }
    }

    private void client(int port) {
        while (sending.get()) {
            try (SimpleSmtpClient smtp = new SimpleSmtpClient(port, 30_000)) {
                while (sending.get()) {
                    String id = "term-" + attempts.incrementAndGet();
                    String reply = smtp.send("app@example.com", "rcpt@example.org", "Message-ID: <" + id
                            + "@relay.test>\r\nSubject: " + id + "\r\n\r\n" + ("x".repeat(98) + "\r\n").repeat(20));
                    if (reply.startsWith("250")) {
                        acknowledged.add(id);
                    }
                }
            } catch (IOException e) {
                try {
                    Thread.sleep(20); // stopped: as an application would, try again shortly
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private static void scan(Path outbox, Set<String> read, Set<String> delivered) throws IOException {
        if (!Files.isDirectory(outbox)) {
            return;
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(outbox)) {
            files = s.filter(p -> p.toString().endsWith(".eml")).toList();
        }
        for (Path f : files) {
            if (!read.add(f.getFileName().toString())) {
                continue;
            }
            try (InputStream in = Files.newInputStream(f)) {
                Matcher m = MESSAGE_ID.matcher(new String(in.readNBytes(4096), StandardCharsets.UTF_8));
                if (m.find()) {
                    delivered.add(m.group(1));
                }
            }
        }
    }
}
