package dev.relay.core.spool;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

/**
 * The commit of a received message: {@link Spool#store} of a 2 KiB body, durable when it returns, by 1, 8 and 32
 * threads sharing one spool (the group commit shares directory fsyncs between concurrent stores). The spool is
 * a fresh directory under {@code -Drelay.bench.dir} (default: the temporary directory; it must be on the disk to
 * be measured, not a tmpfs). Each measurement iteration prints the fsyncs per message
 * ({@link Spool#fsyncCount()}), and the trial prints their mean as a line starting {@code fsyncs/message}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class SpoolStoreBenchmark {
    private static final int BODY = 2048;

    private final byte[] body = dev.relay.bench.jmh.Messages.content(BODY);
    private final LongAdder stores = new LongAdder();
    private Path dir;
    private Spool spool;
    private long fsyncsAtStart;
    private long measuredStores;
    private long measuredFsyncs;

    @Setup(Level.Trial)
    public void open() throws IOException {
        Path base = Path.of(System.getProperty("relay.bench.dir", System.getProperty("java.io.tmpdir")));
        dir = Files.createTempDirectory(Files.createDirectories(base), "jmh-spool-");
        spool = Spool.open(dir, new SpoolSettings(0));
    }

    @Setup(Level.Iteration)
    public void mark() {
        stores.reset();
        fsyncsAtStart = spool.fsyncCount();
    }

    @TearDown(Level.Iteration)
    public void count(IterationParams iteration) {
        long n = stores.sum();
        long fsyncs = spool.fsyncCount() - fsyncsAtStart;
        if (iteration.getType() == IterationType.MEASUREMENT) {
            measuredStores += n;
            measuredFsyncs += fsyncs;
        }
        System.out.printf(Locale.ROOT, "(%d stores, %.2f fsyncs/message) ", n, (double) fsyncs / Math.max(1, n));
    }

    @TearDown(Level.Trial)
    public void close(BenchmarkParams params) throws IOException {
        System.out.printf(Locale.ROOT, "%nfsyncs/message %s threads=%d: %.2f (%d stores, %d fsyncs, spool on %s)%n",
                params.getBenchmark(), params.getThreads(), (double) measuredFsyncs / Math.max(1, measuredStores),
                measuredStores, measuredFsyncs, Files.getFileStore(dir).type());
        spool.close();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Benchmark
    @Threads(1)
    public long store1Thread() throws SpoolException {
        return store();
    }

    @Benchmark
    @Threads(8)
    public long store8Threads() throws SpoolException {
        return store();
    }

    @Benchmark
    @Threads(32)
    public long store32Threads() throws SpoolException {
        return store();
    }

    private long store() throws SpoolException {
        Instant now = Instant.now();
        Envelope envelope = Envelope.received(QueueId.next(now), MailAddress.of("app@example.com"),
                List.of(MailAddress.of("rcpt@example.org")), now, "bench");
        long size = spool.store(envelope, new ByteArrayInputStream(body));
        stores.increment();
        return size;
    }
}
