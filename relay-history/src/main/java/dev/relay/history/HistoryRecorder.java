package dev.relay.history;

import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.queue.QueueListener;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records every message's life in the history, off the path of the {@code 250}: the queue's events
 * ({@link QueueListener}), the receive side's details ({@link Receipt.Log}) and the operator's actions
 * ({@link #action}) become records in a bounded buffer, which one writer thread empties in batches, one transaction
 * each. A full buffer drops the record (counted in {@link #dropped()}, logged once): history never slows or refuses
 * mail; while the database cannot be reached the writer keeps its batch and retries ({@link WriterOutage}), and the
 * buffer fills. In the background the same thread removes messages older than the retention and, past the size
 * bound, the oldest ones.
 */
public final class HistoryRecorder implements QueueListener, Receipt.Log, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HistoryRecorder.class);
    static final int BATCH = 512;
    /** How long the writer waits for more records after the first before it commits (a crash loses at most this). */
    static final Duration GATHER = Duration.ofMillis(100);
    static final Duration HOUSEKEEPING = Duration.ofMinutes(10);

    private final HistoryStore store;
    private final InstantSource clock;
    private final Duration retention;
    private final long maxSize;
    private final boolean subject;
    private final Function<String, String> hosts;
    private final BlockingQueue<HistoryRecord> buffer;
    private final Map<QueueId, Instant> attemptStarts = new ConcurrentHashMap<>();
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong failedWrites = new AtomicLong();
    private final AtomicLong removed = new AtomicLong();
    private final AtomicLong pending = new AtomicLong(); // offered, not yet written (or failed)
    private final AtomicBoolean dropLogged = new AtomicBoolean();
    private final WriterOutage outage;
    private final Thread writer;
    private volatile boolean running = true;
    private volatile Instant lastHousekeeping = Instant.EPOCH;
    private final Object paused = new Object();
    private boolean pause; // tests: hold the writer so the buffer fills

    /**
     * @param hosts   the host of an upstream by its name (for the attempts' {@code host}); null when unknown
     * @param subject keep the messages' {@code Subject}
     */
    public HistoryRecorder(HistoryStore store, InstantSource clock, Duration retention, long maxSize, int capacity,
                           boolean subject, Function<String, String> hosts) {
        this.store = store;
        this.clock = clock;
        this.retention = retention;
        this.maxSize = maxSize;
        this.subject = subject;
        this.hosts = hosts;
        this.buffer = new ArrayBlockingQueue<>(capacity);
        this.outage = new WriterOutage(dropped::get, capacity);
        this.writer = Thread.ofPlatform().name("history-writer").daemon(true).unstarted(this::run);
    }

    public HistoryRecorder start() {
        writer.start();
        return this;
    }

    public HistoryStore store() {
        return store;
    }

    /** Records written to the file. */
    public long written() {
        return written.get();
    }

    /** Records dropped because the buffer was full. */
    public long dropped() {
        return dropped.get();
    }

    /** Records lost because a write failed (the file's disk full, say). */
    public long failedWrites() {
        return failedWrites.get();
    }

    /** Messages removed by retention or the size bound. */
    public long removed() {
        return removed.get();
    }

    /** Records waiting for the writer. */
    public int buffered() {
        return buffer.size();
    }

    private void offer(HistoryRecord r) {
        pending.incrementAndGet();
        if (!buffer.offer(r)) {
            pending.decrementAndGet();
            dropped.incrementAndGet();
            if (!outage.on() && dropLogged.compareAndSet(false, true)) {
                log.warn("history: the buffer of {} records is full: history records are dropped (mail is not "
                        + "affected; relay_history_records_dropped_total counts them; this is logged once)",
                        buffer.remainingCapacity() + buffer.size());
            }
        }
    }

    private static List<String> values(List<MailAddress> list) {
        List<String> out = new ArrayList<>(list.size());
        for (MailAddress a : list) {
            out.add(a.value());
        }
        return out;
    }

    // ---- the queue's events ----

    @Override
    public void received(Envelope envelope, long size) {
        offer(new HistoryRecord.Received(envelope.id().value(), clock.instant(), envelope.receivedAt(),
                envelope.sender().value(), values(envelope.recipients()), envelope.submitter(), size));
    }

    @Override
    public void received(QueueId id, Receipt receipt) {
        Receipt r = subject || receipt.subject() == null ? receipt : new Receipt(receipt.listener(), receipt.client(),
                receipt.user(), receipt.tlsProtocol(), receipt.tlsCipher(), receipt.messageId(), null);
        offer(new HistoryRecord.Details(id.value(), clock.instant(), r));
    }

    @Override
    public void handedOff(QueueId id, String originalId, String header) {
        offer(new HistoryRecord.HandedOff(id.value(), clock.instant(), originalId, header));
    }

    @Override
    public void attempted(Envelope envelope, int attempt) {
        attemptStarts.put(envelope.id(), clock.instant());
    }

    @Override
    public void reported(Envelope envelope, DeliveryReport report) {
        Instant now = clock.instant();
        Instant started = attemptStarts.remove(envelope.id());
        long millis = started == null ? 0 : Math.max(0, Duration.between(started, now).toMillis());
        String host = host(report.upstream());
        for (Map.Entry<MailAddress, Outcome> e : report.byRecipient().entrySet()) {
            offer(new HistoryRecord.Attempt(envelope.id().value(), now, e.getKey().value(), report.upstream(), host,
                    started, millis, e.getValue().detail()));
        }
    }

    private String host(String upstreams) {
        if (hosts == null || upstreams == null) {
            return null;
        }
        List<String> out = new ArrayList<>();
        for (String name : upstreams.split(",")) {
            String h = hosts.apply(name);
            if (h != null) {
                out.add(h);
            }
        }
        return out.isEmpty() ? null : String.join(",", out);
    }

    @Override
    public void delivered(Envelope envelope, List<MailAddress> recipients, String upstream, long size,
                          Duration latency) {
        offer(new HistoryRecord.Outcome(envelope.id().value(), clock.instant(), "delivered", values(recipients),
                "via " + upstream, null));
    }

    @Override
    public void deferred(Envelope envelope, List<MailAddress> recipients, String detail, Instant next) {
        offer(new HistoryRecord.Outcome(envelope.id().value(), clock.instant(), "deferred", values(recipients),
                detail, next));
    }

    @Override
    public void failed(Envelope envelope, List<MailAddress> recipients, String detail) {
        offer(new HistoryRecord.Outcome(envelope.id().value(), clock.instant(), "failed", values(recipients), detail,
                null));
    }

    @Override
    public void expired(Envelope envelope, List<MailAddress> recipients, Duration age) {
        offer(new HistoryRecord.Outcome(envelope.id().value(), clock.instant(), "expired", values(recipients),
                "expired after " + age.toHours() + "h", null));
    }

    @Override
    public void bounced(Envelope envelope, List<MailAddress> recipients, boolean sent, QueueId dsn) {
        offer(new HistoryRecord.Bounced(envelope.id().value(), clock.instant(), values(recipients),
                dsn == null ? null : dsn.value(), envelope.sender().value()));
    }

    @Override
    public void delayWarned(Envelope envelope, List<MailAddress> recipients, QueueId dsn) {
        offer(new HistoryRecord.DelayWarned(envelope.id().value(), clock.instant(), values(recipients),
                dsn == null ? null : dsn.value(), envelope.sender().value()));
    }

    /** An operator's action on a message ({@code hold}, {@code release}, {@code retry}, {@code delete}, {@code requeue}). */
    public void action(String queueId, String action, String by) {
        offer(new HistoryRecord.Action(queueId, clock.instant(), action, by == null ? "-" : by));
    }

    // ---- the writer ----

    private void run() {
        List<HistoryRecord> batch = new ArrayList<>(BATCH);
        while (running || !buffer.isEmpty()) {
            try {
                awaitUnpaused();
                HistoryRecord first = buffer.poll(1, TimeUnit.SECONDS);
                if (first != null) {
                    batch.add(first);
                    gather(batch);
                    write(batch);
                    batch.clear();
                }
                if (running && Duration.between(lastHousekeeping, clock.instant()).compareTo(HOUSEKEEPING) >= 0) {
                    housekeeping();
                }
            } catch (InterruptedException e) {
                if (!running) {
                    buffer.drainTo(batch);
                    write(batch);
                    return;
                }
            } catch (RuntimeException e) {
                log.error("history: writer: {}", e.toString(), e);
            }
        }
    }

    /**
     * Adds what arrives within {@link #GATHER} of the first record, up to a full batch: one transaction (one WAL
     * append and commit) then carries a message's receipt, attempt and outcome, and those of the messages beside
     * it. Written at once, a batch held one or two records at a light load, and the commits cost the relay 0.3 ms
     * of CPU per message at one connection (a fifth of its CPU in this thread).
     */
    private void gather(List<HistoryRecord> batch) throws InterruptedException {
        long deadline = System.nanoTime() + GATHER.toNanos();
        buffer.drainTo(batch, BATCH - batch.size());
        while (batch.size() < BATCH && running) {
            long left = deadline - System.nanoTime();
            HistoryRecord next = left > 0 ? buffer.poll(left, TimeUnit.NANOSECONDS) : null;
            if (next == null) {
                return;
            }
            batch.add(next);
            buffer.drainTo(batch, BATCH - batch.size());
        }
    }

    private void write(List<HistoryRecord> batch) {
        if (batch.isEmpty()) {
            return;
        }
        try {
            while (running || !outage.on()) { // stopping while the database is down: no try would end in time
                try {
                    store.write(batch);
                    written.addAndGet(batch.size());
                    outage.succeeded();
                    return;
                } catch (SQLException e) {
                    if (!running || !HistoryConnections.unreachable(e)) {
                        throw e;
                    }
                    Thread.sleep(outage.failed(e));
                }
            }
            failedWrites.addAndGet(batch.size());
        } catch (SQLException | RuntimeException e) {
            failedWrites.addAndGet(batch.size());
            log.warn("history: {} records not written: {}", batch.size(), e.getMessage());
        } catch (InterruptedException e) { // closing during an outage: what is left is lost, and counted
            failedWrites.addAndGet(batch.size());
            log.warn("history: {} records and those still buffered not written: stopping while the database cannot "
                    + "be reached (relay_history_records_failed_total counts them)", batch.size());
        } finally {
            pending.addAndGet(-batch.size());
        }
    }

    /** Whether the writer is waiting for the database to answer again. */
    public boolean unreachable() {
        return outage.on();
    }

    /** Retention, then the size bound; also run once at start. */
    void housekeeping() {
        lastHousekeeping = clock.instant();
        try {
            HistoryStore.Pruned p = store.prune(clock.instant().minus(retention), maxSize);
            if (p != null && p.old() + p.big() > 0) {
                removed.addAndGet(p.old() + p.big());
                log.info("history: {} messages removed ({} older than history.retention, {} over history.max-size)",
                        p.old() + p.big(), p.old(), p.big());
            }
        } catch (SQLException | RuntimeException e) {
            log.warn("history: housekeeping: {}", e.getMessage());
        }
    }

    /** Tests: waits until every record offered so far is written. */
    public boolean flush(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            if (pending.get() == 0) {
                return true;
            }
            Thread.sleep(10);
        }
        return false;
    }

    /** Tests: stop or resume taking records from the buffer. */
    void pause(boolean on) {
        synchronized (paused) {
            pause = on;
            paused.notifyAll();
        }
    }

    private void awaitUnpaused() throws InterruptedException {
        synchronized (paused) {
            while (pause && running) {
                paused.wait(100);
            }
        }
    }

    /** Writes what is buffered, then closes the file. */
    @Override
    public void close() {
        running = false;
        writer.interrupt();
        try {
            if (writer.isAlive()) {
                writer.join(Duration.ofSeconds(10));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        store.close();
    }
}
