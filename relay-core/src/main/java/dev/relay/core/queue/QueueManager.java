package dev.relay.core.queue;

import dev.relay.core.delivery.DeliveryEngine;
import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.Spool;
import dev.relay.core.spool.SpoolException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stage: commit and schedule. {@link #submit} commits a received message to the spool (the receive stage answers
 * 250 only after it returns) and wakes the scheduler at once; the scheduler hands due messages to the delivery
 * engine, at most {@code maxConcurrent} at a time, and applies each report: delivered recipients are done,
 * transiently failed ones are deferred by the retry delay, permanently failed ones are kept in failed/.
 */
public final class QueueManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(QueueManager.class);

    private final Spool spool;
    private final DeliveryEngine engine;
    private final InstantSource clock;
    private final Duration retryDelay;
    private final int maxConcurrent;
    private final QueueListener listener;
    private final DelayQueue<Due> due = new DelayQueue<>();
    private final Semaphore slots;
    private final AtomicInteger queued = new AtomicInteger();
    private final ExecutorService outcomes = Executors.newVirtualThreadPerTaskExecutor();
    private volatile boolean running;
    private Thread scheduler;

    public QueueManager(Spool spool, DeliveryEngine engine, InstantSource clock, Duration retryDelay,
                        int maxConcurrent, QueueListener listener) {
        if (maxConcurrent < 1) {
            throw new IllegalArgumentException("maxConcurrent must be at least 1");
        }
        this.spool = spool;
        this.engine = engine;
        this.clock = clock;
        this.retryDelay = retryDelay;
        this.maxConcurrent = maxConcurrent;
        this.slots = new Semaphore(maxConcurrent);
        this.listener = listener;
    }

    /** Schedules what the spool holds (incoming now, deferred at their time) and starts delivering. */
    public synchronized void start() throws SpoolException {
        Instant now = clock.instant();
        for (QueueId id : spool.list(QueueState.INCOMING)) {
            due.add(new Due(id, QueueState.INCOMING, now));
            queued.incrementAndGet();
        }
        for (QueueId id : spool.list(QueueState.DEFERRED)) {
            Optional<Spool.Stored> s = spool.load(QueueState.DEFERRED, id);
            if (s.isPresent()) {
                due.add(new Due(id, QueueState.DEFERRED, s.get().envelope().nextAttempt()));
                queued.incrementAndGet();
            }
        }
        if (queued.get() > 0) {
            log.info("queue: {} messages to deliver from the spool", queued.get());
        }
        running = true;
        scheduler = Thread.ofPlatform().name("relay-scheduler").daemon().start(this::schedule);
    }

    /**
     * Commits a message durably and schedules it for immediate delivery. When this returns the message will be
     * delivered or failed, even across a crash; when it throws, nothing was stored.
     */
    public QueueId submit(MailAddress sender, List<MailAddress> recipients, String submitter, InputStream body)
            throws SpoolException {
        Instant now = clock.instant();
        Envelope envelope = Envelope.received(QueueId.next(now), sender, recipients, now, submitter);
        long size = spool.store(envelope, body);
        queued.incrementAndGet();
        log.info("{}: received from=<{}> nrcpt={} size={} user={}", envelope.id(), sender, recipients.size(), size,
                submitter.isEmpty() ? "-" : submitter);
        listener.received(envelope, size);
        due.add(new Due(envelope.id(), QueueState.INCOMING, now)); // wake the scheduler: no polling delay
        return envelope.id();
    }

    /** Messages waiting or being delivered (incoming, active and deferred). */
    public int queued() {
        return queued.get();
    }

    private void schedule() {
        while (running) {
            Due next;
            try {
                next = due.take();
                slots.acquire();
            } catch (InterruptedException e) {
                return;
            }
            try {
                dispatch(next);
            } catch (RuntimeException | SpoolException e) {
                slots.release();
                log.error("{}: cannot start delivery: {}", next.id, e.toString());
            }
        }
    }

    private void dispatch(Due d) throws SpoolException {
        spool.move(d.id, d.state, QueueState.ACTIVE);
        Optional<Spool.Stored> stored = spool.load(QueueState.ACTIVE, d.id);
        if (stored.isEmpty()) { // quarantined: logged by the spool
            queued.decrementAndGet();
            slots.release();
            return;
        }
        Envelope envelope = stored.get().envelope();
        long size = stored.get().bodySize();
        engine.deliver(envelope, spool.bodyPath(d.id))
                .whenCompleteAsync((report, error) -> {
                    try {
                        if (error != null) { // the engine's contract says never; be safe anyway
                            report = DeliveryReport.all("-", envelope.recipients(),
                                    new Outcome.TransientFailure("delivery engine error: " + error));
                        }
                        apply(envelope, size, report);
                    } catch (SpoolException | RuntimeException e) {
                        log.error("{}: cannot record delivery outcome, retried at next start: {}", envelope.id(),
                                e.toString());
                    } finally {
                        slots.release();
                    }
                }, outcomes); // spool I/O (fsync) never runs on a network event loop
    }

    private void apply(Envelope envelope, long size, DeliveryReport report) throws SpoolException {
        Instant now = clock.instant();
        List<MailAddress> delivered = report.recipientsWith(Outcome.Delivered.class);
        List<MailAddress> pending = report.recipientsWith(Outcome.TransientFailure.class);
        List<MailAddress> failed = report.recipientsWith(Outcome.PermanentFailure.class);
        Duration delay = Duration.between(envelope.receivedAt(), now);
        int attempt = envelope.attempts() + 1;
        if (!delivered.isEmpty()) {
            log.info("{}: delivered to={} upstream={} reply=\"{}\" delay={}ms attempt={} size={}", envelope.id(),
                    delivered, report.upstream(), detail(report, delivered), delay.toMillis(), attempt, size);
            listener.delivered(envelope, delivered, report.upstream(), size, delay);
        }
        if (!failed.isEmpty()) {
            log.info("{}: failed to={} upstream={} reply=\"{}\" attempt={}", envelope.id(), failed, report.upstream(),
                    detail(report, failed), attempt);
            listener.failed(envelope, failed, detail(report, failed));
        }
        if (!pending.isEmpty()) {
            Instant next = now.plus(retryDelay);
            String reason = detail(report, pending);
            spool.update(envelope.deferred(pending, next, reason), size, QueueState.ACTIVE, QueueState.DEFERRED);
            log.info("{}: deferred to={} upstream={} reason=\"{}\" attempt={} next={}", envelope.id(), pending,
                    report.upstream(), reason, attempt, next);
            listener.deferred(envelope, pending, reason);
            due.add(new Due(envelope.id(), QueueState.DEFERRED, next));
        } else if (!failed.isEmpty()) {
            // kept as a dead letter for inspection; bounces are the bounce stage's job
            spool.update(envelope.deferred(failed, now, detail(report, failed)), size, QueueState.ACTIVE,
                    QueueState.FAILED);
            queued.decrementAndGet();
        } else {
            spool.remove(envelope.id(), QueueState.ACTIVE);
            queued.decrementAndGet();
        }
    }

    private static String detail(DeliveryReport report, List<MailAddress> recipients) {
        return report.byRecipient().get(recipients.get(0)).detail();
    }

    /**
     * Stops scheduling and waits up to {@code grace} for deliveries in flight. Whatever is not finished stays in
     * the spool (active/ goes back to incoming/ at the next start).
     */
    public void stop(Duration grace) {
        running = false;
        if (scheduler != null) {
            scheduler.interrupt();
        }
        try {
            if (slots.tryAcquire(maxConcurrent, grace.toMillis(), TimeUnit.MILLISECONDS)) {
                slots.release(maxConcurrent);
            } else {
                log.warn("queue: deliveries still in flight after {}; they are retried at next start", grace);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        outcomes.shutdown();
    }

    @Override
    public void close() {
        stop(Duration.ofSeconds(10));
    }

    private final class Due implements Delayed {
        final QueueId id;
        final QueueState state;
        final Instant at;

        Due(QueueId id, QueueState state, Instant at) {
            this.id = id;
            this.state = state;
            this.at = at;
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(Duration.between(clock.instant(), at));
        }

        @Override
        public int compareTo(Delayed o) {
            return at.compareTo(((Due) o).at);
        }
    }
}
