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
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The queue: commit, schedule, deliver, settle and bounce (Postfix's cleanup, qmgr and bounce), behind one lifecycle.
 * {@link #submit} commits a received message to the spool ({@link Commit}; the receive stage answers 250 only
 * after it returns) and wakes the {@link Scheduler} at once. The scheduler keeps a bounded active window of at most
 * {@code maxConcurrent} deliveries and fills it fairly: it alternates between new mail (a FIFO of incoming
 * messages) and deferred mail that is due (a heap ordered by due time), so a backlog of either never starves the
 * other. Each report is applied per recipient: delivered ones are done, transient failures are deferred by the
 * {@link RetryPolicy} (or expire at the end of the lifetime), permanent failures go to failed/ and their sender
 * gets a delivery status notification ({@link Bounce}; never for a null sender: a bounce never bounces).
 *
 * <p>Deferred mail whose route has every upstream's circuit open waits for a circuit, not for a clock (the report's
 * {@link DeliveryReport.CircuitWait}, kept by {@link CircuitWaits}): a delivery the circuits skipped is no attempt,
 * a circuit that closes makes all of them due at once, and an operator's retry lets the open circuits probe at once.
 */
public final class QueueManager implements AutoCloseable {
    /**
     * The logger of every stage of the queue: their lines keep the name they had when one class held them all
     * (operators grep for it; the text format prints it on every line).
     */
    static final Logger LOG = LoggerFactory.getLogger(QueueManager.class);
    private static final Logger log = LOG;
    /** How long a stop waits, after the deliveries, for the removals of delivered messages (one spool round each). */
    private static final long REMOVAL_GRACE_MILLIS = 2000;
    public static final Duration DEFAULT_FAILED_RETENTION = Duration.ofDays(7);
    static final Duration SWEEP_INTERVAL = FailedSweep.INTERVAL;
    static final int FLOW_BACKLOG = InflowGate.BACKLOG;

    /**
     * What happens to permanent failures.
     *
     * @param send         queue a DSN to the sender (true) or only log it
     * @param reportingMta the host name in the DSN ({@code MAILER-DAEMON@<it>}, Reporting-MTA)
     */
    public record Bounces(boolean send, String reportingMta) {
        public static Bounces logOnly() {
            return new Bounces(false, "localhost");
        }
    }

    private final Spool spool;
    private final DeliveryEngine engine;
    private final InstantSource clock;
    private final RetryPolicy retry;
    private final int maxConcurrent;
    private final QueueListener listener;
    private final Semaphore slots;
    private final ExecutorService outcomes = Executors.newVirtualThreadPerTaskExecutor();
    private final InflowGate gate;
    private final Scheduler scheduler;
    private final Commit commit;
    private final Bounce bounce;
    private final FailedSweep sweep;

    private volatile boolean running;
    /** How long after a failed recording of an outcome the message is taken up again from the spool. */
    volatile Duration outcomeRetryDelay = Duration.ofSeconds(5);
    private Thread picker;

    /**
     * The one constructor: production and tests alike pass the clock, so a test moves time instead of waiting.
     *
     * @param clock           the time of receipts, attempts, backoffs and expiry
     * @param retry           when a transient failure is retried, and the lifetime
     * @param maxConcurrent   the active window: deliveries in flight at most
     * @param failedRetention how long a failed message stays in failed/ (after its last attempt) before it is
     *                        removed; swept at start and every {@link #SWEEP_INTERVAL}
     */
    public QueueManager(Spool spool, DeliveryEngine engine, InstantSource clock, RetryPolicy retry,
                        int maxConcurrent, QueueListener listener, Bounces bounces, Duration failedRetention) {
        if (maxConcurrent < 1) {
            throw new IllegalArgumentException("maxConcurrent must be at least 1");
        }
        this.spool = spool;
        this.engine = engine;
        this.clock = clock;
        this.retry = retry;
        this.maxConcurrent = maxConcurrent;
        this.slots = new Semaphore(maxConcurrent);
        this.listener = listener;
        this.gate = new InflowGate(listener);
        this.scheduler = new Scheduler(spool, engine, clock, gate);
        this.commit = new Commit(spool, clock, listener, scheduler, gate);
        this.bounce = new Bounce(spool, listener, bounces, scheduler::enqueueFresh);
        this.sweep = new FailedSweep(spool, clock, failedRetention, scheduler);
    }

    /** Schedules what the spool holds (incoming now, deferred at their time) and starts delivering. */
    public void start() throws SpoolException {
        engine.watchCircuits(scheduler::circuitChanged);
        for (QueueId id : spool.list(QueueState.INCOMING)) {
            scheduler.enqueueFresh(id);
        }
        for (QueueId id : spool.list(QueueState.DEFERRED)) {
            Optional<Spool.Stored> s = spool.load(QueueState.DEFERRED, id);
            if (s.isPresent()) {
                scheduler.enqueueDeferred(id, s.get().envelope().nextAttempt());
            }
        }
        if (scheduler.queued() > 0) {
            log.info("queue: {} messages to deliver from the spool", scheduler.queued());
        }
        running = true;
        gate.open();
        picker = Thread.ofPlatform().name("relay-scheduler").daemon().start(this::schedule);
        sweep.start();
    }

    /** Removes dead letters older than the retention; returns how many. */
    int sweepFailed() {
        return sweep.sweep();
    }

    /**
     * Commits a message durably and schedules it for immediate delivery. When this returns the message will be
     * delivered or failed, even across a crash; when it throws, nothing was stored.
     */
    public QueueId submit(MailAddress sender, List<MailAddress> recipients, String submitter, InputStream body)
            throws SpoolException {
        return commit.submit(sender, recipients, submitter, false, body);
    }

    /**
     * As {@link #submit(MailAddress, List, String, InputStream)}, for a client that asked for SMTPUTF8 on MAIL FROM
     * when {@code smtputf8}: the message is then only relayed to an upstream offering SMTPUTF8.
     */
    public QueueId submit(MailAddress sender, List<MailAddress> recipients, String submitter, boolean smtputf8,
                          InputStream body) throws SpoolException {
        return commit.submit(sender, recipients, submitter, smtputf8, body);
    }

    /** Submissions in an in-flow pause right now (tests wait for one instead of guessing how long it takes). */
    int submissionsPaused() {
        return gate.paused();
    }

    /** Messages waiting or being delivered (incoming, active and deferred; not hold or failed). */
    public int queued() {
        return scheduler.queued();
    }

    /** The operator's view and controls of this queue. */
    public QueueAdmin admin() {
        return new QueueAdmin(spool, scheduler, engine, clock);
    }

    InstantSource clock() {
        return clock;
    }

    /** Wakes the scheduler to look at the clock again (tests with a fake clock call it after advancing). */
    void wake() {
        scheduler.wake();
    }

    // --- dispatch ---------------------------------------------------------------------------------------------

    private void schedule() {
        while (running) {
            Scheduler.Pick pick;
            try {
                slots.acquire(); // the bounded active window
            } catch (InterruptedException e) {
                return;
            }
            try {
                pick = scheduler.take();
            } catch (InterruptedException e) {
                slots.release();
                return;
            }
            try {
                dispatch(pick);
            } catch (RuntimeException | SpoolException e) {
                slots.release();
                if (!running) {
                    scheduler.forget(pick.id());
                    // stop() interrupted the scheduler in the middle of a move: the spool puts the message back
                    // at the next start, which is the documented outcome of a stop, not an error
                    log.info("{}: delivery not started, stopping; retried at next start", pick.id());
                } else {
                    // not forgotten until a restart: taken up again from the state the spool holds it in
                    log.error("{}: cannot start delivery, taken up again from the spool in {}: {}", pick.id(),
                            Dsn.human(outcomeRetryDelay), e.toString());
                    takeBack(pick.id());
                }
                scheduler.deliveryOver(pick.id());
            }
        }
    }

    private void dispatch(Scheduler.Pick p) throws SpoolException {
        Spool.Stored known = scheduler.takeCommitted(p.id());
        spool.move(p.id(), p.from(), QueueState.ACTIVE);
        Optional<Spool.Stored> stored = known != null ? Optional.of(known) : spool.load(QueueState.ACTIVE, p.id());
        if (stored.isEmpty()) { // quarantined: logged by the spool
            scheduler.forget(p.id());
            scheduler.deliveryOver(p.id());
            slots.release();
            return;
        }
        Envelope envelope = stored.get().envelope();
        long size = stored.get().bodySize();
        listener.attempted(envelope, envelope.attempts() + 1);
        engine.deliver(envelope, spool.bodyPath(p.id()), size)
                .whenCompleteAsync((report, error) -> {
                    AtomicBoolean slot = new AtomicBoolean(true);
                    try {
                        if (error != null) { // the engine's contract says never; be safe anyway
                            report = DeliveryReport.all("-", envelope.recipients(),
                                    new Outcome.TransientFailure("delivery engine error: " + error));
                        }
                        apply(envelope, size, report, () -> releaseOnce(slot));
                    } catch (SpoolException | RuntimeException e) {
                        log.error("{}: cannot record delivery outcome, taken up again from the spool in {}: {}",
                                envelope.id(), Dsn.human(outcomeRetryDelay), e.toString());
                        takeBack(envelope.id());
                    } finally {
                        releaseOnce(slot);
                        scheduler.deliveryOver(envelope.id());
                    }
                }, outcomes); // spool I/O (fsync) never runs on a network event loop
    }

    /**
     * After a failed recording of an outcome: the message is no longer owned as active (which left it stuck until
     * a restart, with operator actions refused). What the spool holds decides: back in incoming/ (as a restart
     * would put it), owned again and delivered after {@code outcomeRetryDelay}; in deferred/, due after that
     * delay; elsewhere or gone, no longer the scheduler's. While the spool cannot even take it back, this is tried
     * again after the delay.
     */
    private void takeBack(QueueId id) {
        try {
            takeBackLocked(id);
        } catch (SpoolException e) { // the spool's failures are caught inside
            throw new IllegalStateException(e);
        }
    }

    private void takeBackLocked(QueueId id) throws SpoolException {
        scheduler.locked(() -> {
            if (!running) {
                return null; // the next start takes it from the spool
            }
            Optional<QueueState> now;
            try {
                now = spool.releaseActive(id);
            } catch (SpoolException | RuntimeException e) {
                log.warn("{}: still cannot take it back from active, trying again in {}: {}", id,
                        Dsn.human(outcomeRetryDelay), e.toString());
                scheduler.forget(id);
                later(() -> takeBack(id));
                return null;
            }
            switch (now.orElse(null)) {
                case INCOMING -> { // owned again, so operator actions apply; fed to the scheduler later
                    scheduler.ownIncoming(id);
                    later(() -> {
                        if (running) {
                            scheduler.refeed(id);
                        }
                    });
                }
                case DEFERRED -> scheduler.enqueueDeferred(id, clock.instant().plus(outcomeRetryDelay));
                case null, default -> scheduler.forget(id);
            }
            return null;
        });
    }

    private void later(Runnable task) {
        try {
            CompletableFuture.runAsync(task, CompletableFuture.delayedExecutor(outcomeRetryDelay.toMillis(),
                    TimeUnit.MILLISECONDS, outcomes));
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            // stopping: the next start takes it from the spool
        }
    }

    /** Gives back a delivery's place in the active window, the first time only. */
    private void releaseOnce(AtomicBoolean held) {
        if (held.getAndSet(false)) {
            slots.release();
        }
    }

    /**
     * Records a delivery's outcome. {@code deliveryDone} gives the delivery's place in the active window back: for a
     * message delivered to every recipient, before its removal, which waits for the spool's next removal round (up
     * to 50 ms that need not hold up the next delivery); the caller gives it back after anything else.
     */
    private void apply(Envelope envelope, long size, DeliveryReport report, Runnable deliveryDone)
            throws SpoolException {
        Instant now = clock.instant();
        List<MailAddress> delivered = report.recipientsWith(Outcome.Delivered.class);
        List<MailAddress> pending = report.recipientsWith(Outcome.TransientFailure.class);
        List<MailAddress> failed = report.recipientsWith(Outcome.PermanentFailure.class);
        Duration delay = Duration.between(envelope.receivedAt(), now);
        // pending recipients whose every upstream has an open circuit wait for it; when no upstream was even tried,
        // this was no attempt: the count, and so the backoff, stay as they were
        DeliveryReport.CircuitWait wait = pending.isEmpty() ? null : report.circuit();
        boolean attempted = wait == null || wait.attempted();
        int attempt = attempted ? envelope.attempts() + 1 : envelope.attempts();
        if (!delivered.isEmpty()) {
            log.info("{}: delivered from=<{}> to={} upstream={} reply=\"{}\" delay={}ms size={} attempt={}",
                    envelope.id(), envelope.sender(), Bounce.addresses(delivered), report.upstream(),
                    detail(report, delivered), delay.toMillis(), size, attempt);
            listener.delivered(envelope, delivered, report.upstream(), size, delay);
        }
        List<Dsn.Failure> permanent = new ArrayList<>();
        if (!failed.isEmpty()) {
            log.info("{}: failed from=<{}> to={} upstream={} reply=\"{}\" delay={}ms size={} attempt={}",
                    envelope.id(), envelope.sender(), Bounce.addresses(failed), report.upstream(), detail(report, failed),
                    delay.toMillis(), size, attempt);
            listener.failed(envelope, failed, detail(report, failed));
            failed.forEach(r -> permanent.add(new Dsn.Failure(r, report.byRecipient().get(r).detail(), false)));
        }
        Instant next = null;
        if (!pending.isEmpty()) {
            String reason = detail(report, pending);
            switch (retry.afterTransientFailure(envelope.receivedAt(), Math.max(1, attempt), now)) {
                // waiting on open circuits: stored due now, in memory parked (see park); else the backoff
                case RetryPolicy.Decision.Retry r -> next = wait != null && wait.open() ? now : r.at();
                case RetryPolicy.Decision.Expire e -> {
                    log.info("{}: expired from=<{}> to={} upstream={} reply=\"{}\" delay={}ms size={} attempt={} "
                                    + "age={}", envelope.id(), envelope.sender(), Bounce.addresses(pending),
                            report.upstream(), reason, delay.toMillis(), size, attempt, Dsn.human(e.age()));
                    listener.expired(envelope, pending, e.age());
                    pending.forEach(r -> permanent.add(new Dsn.Failure(r,
                            Dsn.expiredReason(retry.maxLifetime(), report.byRecipient().get(r).detail()), true)));
                    pending = List.of();
                }
            }
        }
        if (!permanent.isEmpty()) {
            bounce.send(envelope, size, permanent, now); // before the original leaves active/: a crash repeats, never loses it
        }
        if (!pending.isEmpty() && wait != null && wait.open()) {
            // stored due now: a restart (whose circuits start closed) tries it at once
            String reason = detail(report, pending);
            spool.update(attempted ? envelope.deferred(pending, next, reason)
                    : envelope.notAttempted(pending, next, reason), size, QueueState.ACTIVE, QueueState.DEFERRED);
            log.info("{}: deferred from=<{}> to={} upstream={} reply=\"{}\" delay={}ms size={} attempt={} next={} "
                            + "attempted={} waiting={}", envelope.id(), envelope.sender(), Bounce.addresses(pending),
                    report.upstream(), reason, delay.toMillis(), size, attempt, next, attempted,
                    String.join(",", wait.upstreams()));
            listener.deferred(envelope, pending, reason);
            scheduler.park(envelope.id(), wait.upstreams(), envelope.receivedAt().plus(retry.maxLifetime()), true);
        } else if (!pending.isEmpty()) {
            String reason = detail(report, pending);
            spool.update(envelope.deferred(pending, next, reason), size, QueueState.ACTIVE, QueueState.DEFERRED);
            log.info("{}: deferred from=<{}> to={} upstream={} reply=\"{}\" delay={}ms size={} attempt={} next={}",
                    envelope.id(), envelope.sender(), Bounce.addresses(pending), report.upstream(), reason,
                    delay.toMillis(), size, attempt, next);
            listener.deferred(envelope, pending, reason);
            if (wait != null) { // its upstreams were unreachable: a circuit that closes again releases it
                scheduler.park(envelope.id(), wait.upstreams(), next, false);
            } else {
                scheduler.enqueueDeferred(envelope.id(), next);
            }
        } else if (!permanent.isEmpty()) {
            // kept as a dead letter for inspection and requeue
            spool.update(envelope.deferred(permanent.stream().map(Dsn.Failure::recipient).toList(), now,
                    permanent.get(0).detail()), size, QueueState.ACTIVE, QueueState.FAILED);
            scheduler.forget(envelope.id());
        } else {
            deliveryDone.run(); // (stop() waits for the outcomes still being recorded, this removal too)
            spool.remove(envelope.id(), QueueState.ACTIVE);
            scheduler.forget(envelope.id());
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
        gate.close(); // submitters in an in-flow pause answer now
        if (picker != null) {
            picker.interrupt();
        }
        sweep.stop();
        try {
            if (slots.tryAcquire(maxConcurrent, grace.toMillis(), TimeUnit.MILLISECONDS)) {
                slots.release(maxConcurrent);
            } else {
                log.warn("queue: deliveries still in flight after {}; they are retried at next start", grace);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        outcomes.shutdown(); // and the removals of delivered messages, which gave their slots back first
        try {
            if (!outcomes.awaitTermination(REMOVAL_GRACE_MILLIS, TimeUnit.MILLISECONDS)) {
                log.warn("queue: removals of delivered messages still pending; they may be delivered again");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop(Duration.ofSeconds(10));
    }

}
