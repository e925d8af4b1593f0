package dev.relay.core.spool;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Messages per second and fsyncs per message of {@link Spool#store} with 2 KiB bodies at 1, 8 and 32 concurrent
 * writers, on the real disk (relay-core/target/bench-spool). Not part of {@code mvn verify}; run it with
 * {@code mvn -B -ntp -o -pl relay-core -Pbench test} (seconds per run: {@code -Dbench.seconds=10}). The figures
 * are printed and written to {@code relay-core/target/spool-commit-benchmark.md}.
 */
@Tag("benchmark")
class SpoolCommitBenchmark {
    private static final int BODY = 2048;
    private static final int[] WRITERS = {1, 8, 32};

    @Test
    void storeThroughputAndFsyncsPerMessage() throws Exception {
        double seconds = Double.parseDouble(System.getProperty("bench.seconds", "5"));
        Path root = Path.of("target", "bench-spool").toAbsolutePath();
        StringBuilder report = new StringBuilder();
        report.append(String.format(Locale.ROOT, "Spool.store, %d-byte bodies, %.0f s per run, %s (%s)%n%n",
                BODY, seconds, root, Files.getFileStore(Files.createDirectories(root.getParent())).type()));
        report.append("| writers | messages/s | fsyncs/message | mean batch | p50 store ms | p99 store ms |\n");
        report.append("|---:|---:|---:|---:|---:|---:|\n");
        for (int writers : WRITERS) {
            report.append(run(root, writers, (long) (seconds * 1e9))).append('\n');
        }
        System.out.println(report);
        Files.writeString(Path.of("target", "spool-commit-benchmark.md"), report);
    }

    private static String run(Path root, int writers, long nanos) throws Exception {
        delete(root);
        byte[] body = new byte[BODY];
        java.util.Arrays.fill(body, (byte) 'x');
        try (Spool spool = Spool.open(root, new SpoolSettings(0))) {
            for (int i = 0; i < 100; i++) { // warm-up: JIT, directory blocks
                spool.store(envelope(), new ByteArrayInputStream(body));
            }
            long fsyncs0 = spool.fsyncCount();
            CommitStats stats0 = spool.commitStats();
            LongAdder messages = new LongAdder();
            List<long[]> latencies = new ArrayList<>();
            CyclicBarrier start = new CyclicBarrier(writers + 1);
            List<Thread> threads = new ArrayList<>();
            long[] window = new long[2];
            for (int w = 0; w < writers; w++) {
                long[] mine = new long[1 << 20];
                latencies.add(mine);
                threads.add(Thread.ofPlatform().start(() -> {
                    int n = 0;
                    try {
                        start.await();
                        long end = window[0] + nanos;
                        long t;
                        while ((t = System.nanoTime()) < end) {
                            spool.store(envelope(), new ByteArrayInputStream(body));
                            if (n < mine.length - 1) {
                                mine[++n] = System.nanoTime() - t;
                            }
                            messages.increment();
                        }
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                    mine[0] = n;
                }));
            }
            window[0] = System.nanoTime();
            start.await();
            for (Thread t : threads) {
                t.join();
            }
            window[1] = System.nanoTime();
            long n = messages.sum();
            long fsyncs = spool.fsyncCount() - fsyncs0;
            CommitStats stats = spool.commitStats();
            long batches = stats.batches() - stats0.batches();
            long[] all = latencies.stream().flatMapToLong(a -> java.util.Arrays.stream(a, 1, (int) a[0] + 1))
                    .sorted().toArray();
            double secs = (window[1] - window[0]) / 1e9;
            return String.format(Locale.ROOT, "| %d | %.0f | %.2f | %.1f | %.2f | %.2f |", writers, n / secs,
                    (double) fsyncs / n, (double) n / batches, all[all.length / 2] / 1e6,
                    all[(int) (all.length * 0.99)] / 1e6);
        } finally {
            delete(root);
        }
    }

    private static Envelope envelope() {
        Instant now = Instant.now();
        return Envelope.received(QueueId.next(now), MailAddress.of("app@example.com"),
                List.of(MailAddress.of("rcpt@example.org")), now, "bench");
    }

    private static void delete(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
