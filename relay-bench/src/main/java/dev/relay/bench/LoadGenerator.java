package dev.relay.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

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
        Start paced = new Start(o.connections());
        AtomicLong worstLate = new AtomicLong();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int c = 0; c < o.connections(); c++) {
                int index = c;
                pool.submit(() -> {
                    Session session = new Session(o, body, accepted, failed, errors, pacing, index, paced, worstLate);
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

    /** Where a paced run starts: once every session is ready (or gone), the first to pass sets the origin. */
    private static final class Start {
        private final CountDownLatch ready;
        private final Set<Session> arrived = ConcurrentHashMap.newKeySet();
        private final AtomicLong origin = new AtomicLong();

        Start(int sessions) {
            ready = new CountDownLatch(sessions);
        }

        /** Called by a ready session: waits for the others, returns the origin of the schedule (nanoTime). */
        long arrive(Session s) throws InterruptedException {
            if (arrived.add(s)) {
                ready.countDown();
            }
            ready.await();
            origin.compareAndSet(0, System.nanoTime());
            return origin.get();
        }

        void leave(Session s) {
            if (arrived.add(s)) {
                ready.countDown();
            }
        }

        long origin() {
            return origin.get();
        }
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

    /** One client session; returns the acceptance latency of each message it got a 250 for. */
    private static final class Session {
        private final Options o;
        private final byte[] body;
        private final LongAdder accepted;
        private final LongAdder failed;
        private final Map<String, Long> errors;
        private final Pacing pacing; // null: as fast as possible
        private final int index;
        private final Start start;
        private final AtomicLong worstLate;
        private final List<Long> envelope = new ArrayList<>();
        private final List<Long> acceptedLatencies = new ArrayList<>();
        private InputStream in;
        private OutputStream out;

        Session(Options o, byte[] body, LongAdder accepted, LongAdder failed, Map<String, Long> errors,
                Pacing pacing, int index, Start start, AtomicLong worstLate) {
            this.o = o;
            this.body = body;
            this.accepted = accepted;
            this.failed = failed;
            this.errors = errors;
            this.pacing = pacing;
            this.index = index;
            this.start = start;
            this.worstLate = worstLate;
        }

        /** The acceptance latencies (end of DATA to 250) this session measured. */
        long[] acceptanceLatencies() {
            return acceptedLatencies.stream().mapToLong(Long::longValue).toArray();
        }

        /** The envelope round trips (MAIL to 354) this session measured. */
        long[] envelopeLatencies() {
            return envelope.stream().mapToLong(Long::longValue).toArray();
        }

        long[] call() throws Exception {
            List<Long> lat = acceptedLatencies;
            try (Socket plain = new Socket()) {
                plain.connect(new InetSocketAddress(o.host(), o.port()), 10_000);
                plain.setSoTimeout(60_000);
                plain.setTcpNoDelay(true);
                Socket s = o.tls().equals("implicit") ? tls(plain) : plain;
                attach(s);
                expect(read(), 220, "greeting");
                String ehlo = command("EHLO loadgen.example.com");
                if (o.tls().equals("starttls")) {
                    expect(command("STARTTLS"), 220, "STARTTLS");
                    s = tls(plain);
                    attach(s);
                    ehlo = command("EHLO loadgen.example.com");
                }
                if (o.user() != null) {
                    String plainAuth = Base64.getEncoder().encodeToString(("\0" + o.user() + "\0" + o.password())
                            .getBytes(StandardCharsets.UTF_8));
                    String r = command("AUTH PLAIN " + plainAuth);
                    if (!r.startsWith("235") && !r.startsWith("250")) { // smtp-sink answers AUTH with 250
                        throw new IOException("AUTH refused: " + r.strip());
                    }
                }
                boolean pipelining = ehlo.toUpperCase(Locale.ROOT).contains("PIPELINING");
                long origin = pacing == null ? 0 : start.arrive(this);
                String mail = "MAIL FROM:<" + o.from() + ">\r\n";
                String rcpt = "RCPT TO:<" + o.to() + ">\r\n";
                String data = "DATA\r\n";
                // with --pipeline-after-data yes (and PIPELINING, unpaced): the next message's MAIL, RCPT and DATA
                // go in one group with the end of this message's data, as RFC 2920 section 3.1 allows (message
                // content may be the first "command" of a group); otherwise each envelope waits for the 250
                boolean afterData = pipelining && pacing == null && o.pipelineAfterData();
                boolean envelopeSent = false; // the current message's MAIL/RCPT/DATA went with the previous data
                long e0 = 0;
                for (int m = 0; m < o.messages(); m++) {
                    if (pacing != null) {
                        awaitDue(origin + pacing.dueNanos(index, m));
                    }
                    String r1, r2, r3;
                    if (envelopeSent) {
                        r1 = read();
                        r2 = read();
                        r3 = read();
                    } else if (pipelining) {
                        e0 = System.nanoTime();
                        write(mail + rcpt + data);
                        r1 = read();
                        r2 = read();
                        r3 = read();
                    } else {
                        e0 = System.nanoTime();
                        r1 = command(mail.strip());
                        r2 = command(rcpt.strip());
                        r3 = command(data.strip());
                    }
                    envelope.add(System.nanoTime() - e0);
                    envelopeSent = false;
                    if (!r1.startsWith("250") || !r2.startsWith("250") || !r3.startsWith("354")) {
                        fail(!r1.startsWith("250") ? r1 : !r2.startsWith("250") ? r2 : r3);
                        if (r3.startsWith("354")) {
                            write(".\r\n");
                            read();
                        }
                        command("RSET");
                        continue;
                    }
                    out.write(body);
                    out.write(".\r\n".getBytes(StandardCharsets.US_ASCII));
                    if (afterData && m + 1 < o.messages()) {
                        out.write((mail + rcpt + data).getBytes(StandardCharsets.US_ASCII));
                        envelopeSent = true;
                    }
                    out.flush();
                    long t0 = System.nanoTime();
                    e0 = t0;
                    String r = read();
                    long t = System.nanoTime() - t0;
                    if (r.startsWith("250")) {
                        accepted.increment();
                        lat.add(t);
                    } else {
                        fail(r);
                    }
                }
                command("QUIT");
            }
            return acceptanceLatencies();
        }

        /** Sleeps until {@code due} (nanoTime) unless it has passed; records how late the send is. */
        private void awaitDue(long due) {
            long now;
            while ((now = System.nanoTime()) < due) {
                LockSupport.parkNanos(due - now);
            }
            long late = now - due;
            worstLate.accumulateAndGet(late, Math::max);
        }

        private void fail(String reply) {
            failed.increment();
            String key = (reply.length() >= 3 ? reply.substring(0, Math.min(reply.length(), 9)).strip() : reply)
                    .replace(' ', '_');
            errors.merge(key, 1L, Long::sum);
        }

        private Socket tls(Socket plain) throws Exception {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new TrustAll()}, new SecureRandom());
            SSLSocket ssl = (SSLSocket) ctx.getSocketFactory().createSocket(plain, o.host(), o.port(), true);
            ssl.setUseClientMode(true);
            ssl.startHandshake();
            return ssl;
        }

        private void attach(Socket s) throws IOException {
            in = new BufferedInputStream(s.getInputStream(), 8192);
            out = new BufferedOutputStream(s.getOutputStream(), 65536);
        }

        private void write(String s) throws IOException {
            out.write(s.getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }

        private String command(String line) throws IOException {
            write(line + "\r\n");
            return read();
        }

        /** Reads one whole reply (all continuation lines); returns it with CRLF line ends. */
        private String read() throws IOException {
            StringBuilder reply = new StringBuilder();
            while (true) {
                StringBuilder line = new StringBuilder();
                int b;
                while ((b = in.read()) != -1 && b != '\n') {
                    line.append((char) b);
                }
                if (b == -1) {
                    throw new IOException("connection closed; last reply: " + reply + line);
                }
                reply.append(line).append('\n');
                if (line.length() < 4 || line.charAt(3) != '-') {
                    return reply.toString();
                }
            }
        }

        private static void expect(String reply, int code, String what) throws IOException {
            if (!reply.startsWith(Integer.toString(code))) {
                throw new IOException(what + ": " + reply.strip());
            }
        }
    }

    /** Benchmarks only: the servers under test use self-signed certificates. */
    private static final class TrustAll implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
