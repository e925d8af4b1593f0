package dev.relay.bench;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * SMTP submission load: {@code connections} concurrent sessions, each doing EHLO, STARTTLS (or implicit TLS) and
 * AUTH once, then sending {@code messages} messages of {@code size} bytes, pipelining MAIL/RCPT/DATA when the
 * server offers PIPELINING. Reports messages per second accepted, the latency from the end of DATA to the 250
 * (p50, p99, max) and errors by reply. A benchmark tool: it trusts any server certificate.
 *
 * <p>With {@code --warmup W} a first pass of the same shape sends W messages per connection that are not measured
 * (nor counted as accepted; the summary gives them as {@code warmup_accepted}), then the measured pass opens its own
 * sessions: this JVM's JIT compiles its own TLS and SMTP code over its first thousands of messages, and a cold
 * client would slow a fast server down more than a slow one.
 *
 * <p>By default every session sends as fast as the server answers. With {@code --rate R} the run is paced open
 * loop at R messages per second in total ({@link Pacing}): once every session is authenticated, each message is
 * sent at its due time (or at once if its session is behind), so the offered load does not fall when the server
 * slows down. The summary then adds the target rate, the achieved rate (accepted messages over the time from the
 * first due time to the last reply) and how late the latest send was against its due time.
 *
 * <pre>
 * java -cp relay-bench.jar dev.relay.bench.LoadGenerator --port 2587 --tls starttls --user demo --password X \
 *      --connections 32 --messages 100 --size 2048 [--rate 150]
 * </pre>
 */
public final class LoadGenerator {
    /** What one run measured. */
    public record Result(long accepted, long failed, double seconds, long[] latenciesNanos,
                         Map<String, Long> errors, double targetRate, long worstLateNanos, long[] envelopeNanos,
                         long startedAtMillis, long warmupAccepted) {
        public Result(long accepted, long failed, double seconds, long[] latenciesNanos, Map<String, Long> errors) {
            this(accepted, failed, seconds, latenciesNanos, errors, 0, 0, new long[0], 0, 0);
        }

        public double perSecond() {
            return accepted / seconds;
        }

        public double percentileMillis(double p) {
            return percentile(latenciesNanos, p);
        }

        /** Percentile of the envelope round trip: from sending MAIL (with RCPT and DATA when pipelined) to the 354. */
        public double envelopePercentileMillis(double p) {
            return percentile(envelopeNanos, p);
        }

        private static double percentile(long[] sorted, double p) {
            if (sorted.length == 0) {
                return 0;
            }
            int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
            return sorted[Math.max(0, Math.min(i, sorted.length - 1))] / 1e6;
        }

        /** One line of {@code key=value} fields (bench/run.sh picks them by name). */
        public String summary() {
            String s = String.format(Locale.ROOT,
                    "accepted=%d failed=%d seconds=%.3f msg/s=%.1f p50=%.2fms p99=%.2fms max=%.2fms errors=%s",
                    accepted, failed, seconds, perSecond(), percentileMillis(50), percentileMillis(99),
                    percentileMillis(100), errors.toString().replace(" ", ""));
            if (envelopeNanos.length > 0) {
                s += String.format(Locale.ROOT, " envelope_p50=%.2fms envelope_p99=%.2fms envelope_max=%.2fms",
                        envelopePercentileMillis(50), envelopePercentileMillis(99), envelopePercentileMillis(100));
            }
            if (targetRate > 0) {
                s += String.format(Locale.ROOT, " target=%.1f/s achieved=%.1f/s late_worst=%.2fms", targetRate,
                        perSecond(), worstLateNanos / 1e6);
            }
            if (startedAtMillis > 0) { // wall clock: where an end-to-end measurement starts (not the JVM's start)
                s += " started_at_ms=" + startedAtMillis;
            }
            if (warmupAccepted > 0) { // delivered too: whoever counts deliveries must expect them
                s += " warmup_accepted=" + warmupAccepted;
            }
            return s;
        }
    }

    /** The load to apply; {@code rate} is messages per second in total, 0 for as fast as possible. */
    public record Options(String host, int port, String tls, String user, String password, int connections,
                          int messages, int size, String from, String to, double rate, boolean pipelineAfterData,
                          int warmup) {
        public Options(String host, int port, String tls, String user, String password, int connections,
                       int messages, int size, String from, String to, double rate) {
            this(host, port, tls, user, password, connections, messages, size, from, to, rate, false, 0);
        }

        public Options(String host, int port, String tls, String user, String password, int connections,
                       int messages, int size, String from, String to) {
            this(host, port, tls, user, password, connections, messages, size, from, to, 0);
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new TreeMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                usage("unexpected argument " + args[i]);
            }
            a.put(args[i].substring(2), args[i + 1]);
        }
        if (args.length % 2 != 0) {
            usage("every option takes a value");
        }
        Options o = new Options(a.getOrDefault("host", "127.0.0.1"), Integer.parseInt(a.getOrDefault("port", "2587")),
                a.getOrDefault("tls", "starttls"), a.get("user"), a.get("password"),
                Integer.parseInt(a.getOrDefault("connections", "1")), Integer.parseInt(a.getOrDefault("messages", "100")),
                Integer.parseInt(a.getOrDefault("size", "2048")), a.getOrDefault("from", "load@example.com"),
                a.getOrDefault("to", "sink@example.net"), Double.parseDouble(a.getOrDefault("rate", "0")),
                switch (a.getOrDefault("pipeline-after-data", "no")) {
                    case "yes" -> true;
                    case "no" -> false;
                    default -> {
                        usage("--pipeline-after-data takes yes or no");
                        yield false;
                    }
                }, Integer.parseInt(a.getOrDefault("warmup", "0")));
        if (o.warmup() < 0) {
            usage("--warmup must be a number of messages per connection, was " + o.warmup());
        }
        if (o.rate() < 0 || Double.isNaN(o.rate()) || Double.isInfinite(o.rate())) {
            usage("--rate must be a number of messages per second (0: as fast as possible), was " + o.rate());
        }
        System.out.println(run(o).summary());
    }

    private static void usage(String problem) {
        System.err.println("load generator: " + problem);
        System.err.println("options: --host H --port P --tls starttls|implicit|none --user U --password P "
                + "--connections N --messages M (per connection) --size BYTES --from A --to A [--rate MSGS_PER_SEC] "
                + "[--pipeline-after-data yes|no] [--warmup MESSAGES_PER_CONNECTION]");
        System.exit(2);
    }

    /**
     * Runs the load; with a warm-up, first a pass of the same shape (connections, rate) sending {@code warmup}
     * messages per connection, whose sessions all end before the measured pass opens its own. (Not a barrier
     * between warm-up and measured messages in the same sessions: a server that serves fewer sessions at once
     * than the run opens, Postfix's 100 smtpd processes against 128 connections, would leave the waiting
     * sessions never served while the others wait at the barrier.)
     */
    public static Result run(Options o) throws InterruptedException {
        if (o.warmup() == 0) {
            return pass(o);
        }
        Result warm = pass(new Options(o.host(), o.port(), o.tls(), o.user(), o.password(), o.connections(),
                o.warmup(), o.size(), o.from(), o.to(), o.rate(), o.pipelineAfterData(), 0));
        Result r = pass(o);
        Map<String, Long> errors = new TreeMap<>(r.errors());
        warm.errors().forEach((k, v) -> errors.merge("warmup:" + k, v, Long::sum)); // shown, not counted as failed
        return new Result(r.accepted(), r.failed(), r.seconds(), r.latenciesNanos(), errors, r.targetRate(),
                r.worstLateNanos(), r.envelopeNanos(), r.startedAtMillis(), warm.accepted());
    }

    private static Result pass(Options o) throws InterruptedException {
        byte[] body = body(o.size());
        long[][] latencies = new long[o.connections()][];
        long[][] envelopes = new long[o.connections()][];
        LongAdder accepted = new LongAdder();
        LongAdder failed = new LongAdder();
        Map<String, Long> errors = new ConcurrentHashMap<>();
        CountDownLatch done = new CountDownLatch(o.connections());
        long startedAt = System.currentTimeMillis();
        long start = System.nanoTime();
        Pacing pacing = o.rate() > 0 ? new Pacing(o.connections(), o.rate()) : null;
        PacedStart paced = new PacedStart(o.connections());
        AtomicLong worstLate = new AtomicLong();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int c = 0; c < o.connections(); c++) {
                int index = c;
                pool.submit(() -> {
                    LoadSession session = new LoadSession(o, body, accepted, failed, errors, pacing, index, paced, worstLate);
                    try {
                        latencies[index] = session.call();
                    } catch (Exception e) {
                        errors.merge((e.getClass().getSimpleName() + ":" + e.getMessage()).replace(' ', '_'), 1L, Long::sum);
                        latencies[index] = session.acceptanceLatencies(); // those it measured before failing
                    } finally {
                        envelopes[index] = session.envelopeLatencies();
                        paced.leave(session); // a session that failed before the start must not hold the others
                        done.countDown();
                    }
                });
            }
            done.await();
        }
        long end = System.nanoTime();
        // paced: from the first due time, so session set-up (TLS, AUTH) is not counted against the rate
        long from = pacing != null && paced.origin() != 0 ? paced.origin() : start;
        double seconds = (end - from) / 1e9;
        startedAt += (from - start) / 1_000_000;
        long[] all = Arrays.stream(latencies).flatMapToLong(Arrays::stream).sorted().toArray();
        long[] env = Arrays.stream(envelopes).flatMapToLong(Arrays::stream).sorted().toArray();
        return new Result(accepted.sum(), failed.sum(), seconds, all, new TreeMap<>(errors),
                pacing == null ? 0 : o.rate(), worstLate.get(), env, startedAt, 0);
    }

    private static byte[] body(int size) {
        StringBuilder sb = new StringBuilder("From: load@example.com\r\nTo: sink@example.net\r\n"
                + "Subject: load test\r\n\r\n");
        String line = "The quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmnopqrstuvwxyz.\r\n";
        while (sb.length() + line.length() <= size) {
            sb.append(line);
        }
        while (sb.length() < size - 2) {
            sb.append('x');
        }
        sb.append("\r\n");
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

}
