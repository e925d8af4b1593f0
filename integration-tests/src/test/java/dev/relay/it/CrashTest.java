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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
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
 * The durability contract under SIGKILL: a relay process receives a steady load from concurrent clients and is
 * killed with SIGKILL at random moments, then restarted on the same spool. Every message that got 250 must reach
 * the upstream at least once. Duplicates (a kill after the upstream accepted a message but before the relay
 * removed it) are allowed and counted.
 */
class CrashTest {
    private static final int MESSAGES = 2_000;
    private static final int CLIENTS = 8;
    private static final int KILLS = 5;
    private static final long SEED = 20261123L;
    private static final Pattern MESSAGE_ID = Pattern.compile("(?m)^Message-ID: <(crash-[0-9]+)@relay\\.test>\r?$");

    @TempDir
    Path dir;

    private final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    private final AtomicInteger attempts = new AtomicInteger();
    private final AtomicBoolean sending = new AtomicBoolean(true);

    @Test
    void everyAcknowledgedMessageIsDeliveredDespiteRepeatedSigkill() throws Exception {
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
        Random random = new Random(SEED);

        try (CaptureSink sink = new CaptureSink(new HostPort(Loopback.HOST, sinkPort), outbox, null, null, null)) {
            sink.start();
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                clients.add(Thread.ofPlatform().name("crash-client-" + c).daemon().start(() -> client(port)));
            }
            Process relay = null;
            try {
                for (int kill = 0; kill < KILLS; kill++) {
                    relay = RelayProcess.start(config, log, port);
                    int before = acknowledged.size();
                    // a random moment, but only once this incarnation has taken some load
                    Thread.sleep(200 + random.nextInt(800));
                    await().atMost(Duration.ofSeconds(60)).until(() -> acknowledged.size() >= before + 50);
                    relay.destroyForcibly(); // SIGKILL: no shutdown hook, no flush, no graceful stop
                    assertThat(relay.waitFor(30, TimeUnit.SECONDS)).isTrue();
                }
                relay = RelayProcess.start(config, log, port);
                await().atMost(Duration.ofSeconds(90)).until(() -> acknowledged.size() >= MESSAGES);
                sending.set(false);
                for (Thread t : clients) {
                    t.join(30_000);
                }
                Map<String, Integer> delivered = new HashMap<>();
                Set<String> read = new HashSet<>();
                await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> {
                    scan(outbox, read, delivered);
                    return delivered.keySet().containsAll(acknowledged);
                });
                await().atMost(Duration.ofSeconds(30)).until(() -> queueEmpty(spool));
                scan(outbox, read, delivered);

                int duplicates = delivered.values().stream().mapToInt(n -> n - 1).sum();
                long unacknowledged = delivered.keySet().stream().filter(id -> !acknowledged.contains(id)).count();
                System.out.printf("crash test: %d kills, %d submissions, %d acknowledged with 250, %d distinct "
                                + "delivered, %d duplicates, %d delivered without a 250 (killed between commit and "
                                + "reply)%n", KILLS, attempts.get(), acknowledged.size(), delivered.size(),
                        duplicates, unacknowledged);
                assertThat(delivered.keySet()).containsAll(acknowledged);
                assertThat(acknowledged.size()).isGreaterThanOrEqualTo(MESSAGES);
            } finally {
                sending.set(false);
                if (relay != null) {
                    relay.destroy();
                    if (!relay.waitFor(20, TimeUnit.SECONDS)) {
                        relay.destroyForcibly();
                    }
                }
            }
        } catch (AssertionError | RuntimeException e) {
            System.out.println("relay log (tail):\n" + RelayProcess.tail(log));
            throw e;
        }
    }

    /** Sends messages until told to stop, reconnecting after every failure as an application would. */
    private void client(int port) {
        while (sending.get()) {
            try (SimpleSmtpClient smtp = new SimpleSmtpClient(port, 30_000)) {
                while (sending.get()) {
                    String id = "crash-" + attempts.incrementAndGet();
                    String reply = smtp.send("app@example.com", "rcpt@example.org", "Message-ID: <" + id
                            + "@relay.test>\r\nSubject: " + id + "\r\n\r\n" + ("x".repeat(98) + "\r\n").repeat(10));
                    if (reply.startsWith("250")) {
                        acknowledged.add(id); // only now may the client forget the message
                    }
                }
            } catch (IOException e) {
                try {
                    Thread.sleep(20); // the relay is down or restarting: try again shortly
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private static void scan(Path outbox, Set<String> read, Map<String, Integer> delivered) throws IOException {
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
            String head;
            try (InputStream in = Files.newInputStream(f)) {
                head = new String(in.readNBytes(4096), StandardCharsets.UTF_8);
            }
            Matcher m = MESSAGE_ID.matcher(head);
            if (m.find()) {
                delivered.merge(m.group(1), 1, Integer::sum);
            }
        }
    }

    private static boolean queueEmpty(Path spool) throws IOException {
        for (String state : List.of("incoming", "active", "deferred")) {
            try (Stream<Path> s = Files.list(spool.resolve(state))) {
                if (s.findAny().isPresent()) {
                    return false;
                }
            }
        }
        return true;
    }
}
