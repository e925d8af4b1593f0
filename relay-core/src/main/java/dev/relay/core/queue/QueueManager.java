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
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stage: commit and schedule (Postfix's qmgr). {@link #submit} commits a received message to the spool (the
 * receive stage answers 250 only after it returns) and wakes the scheduler at once. The scheduler keeps a bounded
 * active window of at most {@code maxConcurrent} deliveries and fills it fairly: it alternates between new mail (a
 * FIFO of incoming messages) and deferred mail that is due (a heap ordered by due time), so a backlog of either
 * never starves the other. Each report is applied per recipient: delivered ones are done, transient failures are
 * deferred by the {@link RetryPolicy} (or expire at the end of the lifetime), permanent failures go to failed/ and
 * their sender gets a delivery status notification (unless the sender is null: a bounce never bounces).
 *
 * <p>Deferred mail whose route has every upstream's circuit open waits for a circuit, not for a clock (the report's
 * {@link DeliveryReport.CircuitWait}): a delivery the circuits skipped is no attempt, the message is parked on its
 * route's upstreams, one parked message is made due when a cool-down ends (to take the probe), and a circuit that
 * closes (the engine calls {@link #circuitChanged}) makes all of them due at once. An operator's retry lets the
 * open circuits probe at once.
 */
public final class QueueManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(QueueManager.class);
    /** Longest wait of the scheduler without a wake-up: bounds how late a clock change is noticed. */
    private static final long MAX_IDLE_MILLIS = 1000;
    /** How long a stop waits, after the deliveries, for the removals of delivered messages (one spool round each). */
    private static final long REMOVAL_GRACE_MILLIS = 2000;
    public static final Duration DEFAULT_FAILED_RETENTION = Duration.ofDays(7);
    static final Duration SWEEP_INTERVAL = Duration.ofHours(1);

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
    private final Bounces bounces;
    private final Duration failedRetention;
    private final Semaphore slots;
    private final AtomicInteger queued = new AtomicInteger();
    private final ExecutorService outcomes = Executors.newVirtualThreadPerTaskExecutor();

    // the scheduler's state, guarded by itself
    private final Object lock = new Object();
    private final ArrayDeque<QueueId> fresh = new ArrayDeque<>();
    /**
     * New mail waiting for a delivery slot above which {@link #submit} pauses, up to {@code FLOW_DELAY_NANOS}:
     * Postfix's in_flow_delay. When acceptance outruns delivery, the receiving sessions (many threads) would take
     * the CPU from the delivery (one event loop) and only build a backlog; the pause gives it back.
     */
    static final int FLOW_BACKLOG = 64;
    private static final long FLOW_DELAY_NANOS = 1_000_000_000L;
    private final java.util.concurrent.locks.ReentrantLock flowLock = new java.util.concurrent.locks.ReentrantLock();
    private final java.util.concurrent.locks.Condition flowRoom = flowLock.newCondition();
    private volatile int freshCount; // fresh.size(), written under lock
    private final AtomicInteger flowWaiters = new AtomicInteger();
    /**
     * What {@link #submit} just committed, so that its first dispatch need not read the envelope back from the
     * spool (a few small reads per message); anything not here (after a restart, a bounce, a release) is loaded.
     */
    private final Map<QueueId, Spool.Stored> justCommitted = new java.util.concurrent.ConcurrentHashMap<>();
    private final PriorityQueue<Due> waiting = new PriorityQueue<>();
    /** Where each message the scheduler owns is: INCOMING (in fresh), DEFERRED (in waiting) or ACTIVE. */
    private final Map<QueueId, QueueState> owned = new HashMap<>();
    private boolean freshTurn = true;
    /**
     * Deferred messages waiting for a circuit, not for a clock: every upstream of their route had its circuit open.
     * Each is in {@link #waiting} at the end of its lifetime only (to expire there), unless it is its upstream's
     * probe candidate; a circuit that closes releases them all at once. Maps each to its route's upstreams.
     */
    private final Map<QueueId, List<String>> parked = new HashMap<>();
    /** The parked messages of each upstream, in the order they were parked. */
    private final Map<String, java.util.LinkedHashSet<QueueId>> parkedOn = new HashMap<>();
    /** Per upstream, the parked message due at the end of its circuit's cool-down, to take the probe. */
    private final Map<String, QueueId> probeCandidate = new HashMap<>();
    /** Probe candidates being delivered, with their upstreams: when they are done, another one is chosen if needed. */
    private final Map<QueueId, List<String>> probing = new HashMap<>();

    private volatile boolean running;
    /** How long after a failed recording of an outcome the message is taken up again from the spool. */
    volatile Duration outcomeRetryDelay = Duration.ofSeconds(5);
    private Thread scheduler;
    private Thread sweeper;

    /** The previous form: a fixed retry delay, the default lifetime, bounces only logged. */
    public QueueManager(Spool spool, DeliveryEngine engine, InstantSource clock, Duration retryDelay,
                        int maxConcurrent, QueueListener listener) {
        this(spool, engine, clock, RetryPolicy.fixed(retryDelay), maxConcurrent, listener, Bounces.logOnly());
    }

    /** Failed messages are kept for {@link #DEFAULT_FAILED_RETENTION}. */
    public QueueManager(Spool spool, DeliveryEngine engine, InstantSource clock, RetryPolicy retry,
                        int maxConcurrent, QueueListener listener, Bounces bounces) {
        this(spool, engine, clock, retry, maxConcurrent, listener, bounces, DEFAULT_FAILED_RETENTION);
    }

    /**
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
        this.bounces = bounces;
        this.failedRetention = failedRetention;
    }

    /** Schedules what the spool holds (incoming now, deferred at their time) and starts delivering. */
    public void start() throws SpoolException {
        engine.watchCircuits(this::circuitChanged);
        synchronized (lock) {
            for (QueueId id : spool.list(QueueState.INCOMING)) {
                enqueueFresh(id);
            }
            for (QueueId id : spool.list(QueueState.DEFERRED)) {
                Optional<Spool.Stored> s = spool.load(QueueState.DEFERRED, id);
                if (s.isPresent()) {
                    enqueueDeferred(id, s.get().envelope().nextAttempt());
                }
            }
        }
        if (queued.get() > 0) {
            log.info("queue: {} messages to deliver from the spool", queued.get());
        }
        running = true;
        scheduler = Thread.ofPlatform().name("relay-scheduler").daemon().start(this::schedule);
        sweeper = Thread.ofVirtual().name("relay-failed-sweeper").start(() -> {
            while (running) {
                sweepFailed();
                try {
                    Thread.sleep(SWEEP_INTERVAL);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    /** Removes dead letters older than the retention (their last attempt, the envelope's next-attempt time). */
    int sweepFailed() {
        Instant limit = clock.instant().minus(failedRetention);
        int removed = 0;
        try {
            for (QueueId id : spool.list(QueueState.FAILED)) {
                Optional<Spool.Stored> s = spool.peek(QueueState.FAILED, id);
                if (s.isPresent() && !s.get().envelope().nextAttempt().isAfter(limit)) {
                    synchronized (lock) { // an operator may be requeueing it right now
                        if (owned.get(id) == null && spool.stateOf(id).orElse(null) == QueueState.FAILED) {
                            spool.remove(id, QueueState.FAILED);
                            removed++;
                        }
                    }
                }
            }
        } catch (SpoolException e) {
            log.warn("queue: cannot sweep failed/: {}", e.getMessage());
        }
        if (removed > 0) {
            log.info("queue: {} failed messages older than {} removed", removed, Dsn.human(failedRetention));
        }
        return removed;
    }

    /**
     * Commits a message durably and schedules it for immediate delivery. When this returns the message will be
     * delivered or failed, even across a crash; when it throws, nothing was stored.
     */
    public QueueId submit(MailAddress sender, List<MailAddress> recipients, String submitter, InputStream body)
            throws SpoolException {
        return submit(sender, recipients, submitter, false, body);
    }

    /**
     * As {@link #submit(MailAddress, List, String, InputStream)}, for a client that asked for SMTPUTF8 on MAIL FROM
     * when {@code smtputf8}: the message is then only relayed to an upstream offering SMTPUTF8.
     */
    public QueueId submit(MailAddress sender, List<MailAddress> recipients, String submitter, boolean smtputf8,
                          InputStream body) throws SpoolException {
        Instant now = clock.instant();
        Envelope envelope = Envelope.received(QueueId.next(now), sender, recipients, now, submitter, smtputf8);
        long size = spool.store(envelope, body);
        log.info("{}: received from=<{}> to={} nrcpt={} size={} user={}", envelope.id(), sender,
                addresses(recipients), recipients.size(), size, submitter.isEmpty() ? "-" : submitter);
        listener.received(envelope, size);
        justCommitted.put(envelope.id(), new Spool.Stored(envelope, size));
        synchronized (lock) {
            enqueueFresh(envelope.id()); // wakes the scheduler: no polling delay
        }
        if (freshCount > FLOW_BACKLOG && running) {
            awaitFlow();
        }
        return envelope.id();
    }

    /** Pauses (the message is durable already) until new mail's backlog is back under the limit, or 1 s. */
    private void awaitFlow() {
        long t0 = System.nanoTime();
        flowLock.lock();
        flowWaiters.incrementAndGet();
        try {
            long left = FLOW_DELAY_NANOS;
            while (freshCount > FLOW_BACKLOG && running && left > 0) {
                left = flowRoom.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            flowWaiters.decrementAndGet();
            flowLock.unlock();
        }
        listener.inflowPaused(System.nanoTime() - t0);
    }

    /** Submissions in an in-flow pause right now (tests wait for one instead of guessing how long it takes). */
    int submissionsPaused() {
        return flowWaiters.get();
    }

    /** Messages waiting or being delivered (incoming, active and deferred; not hold or failed). */
    public int queued() {
        return queued.get();
    }

    /** The operator's view and controls of this queue. */
    public QueueAdmin admin() {
        return new QueueAdmin(spool, this, clock);
    }

    InstantSource clock() {
        return clock;
    }

    /** Wakes the scheduler to look at the clock again (tests with a fake clock call it after advancing). */
    void wake() {
        synchronized (lock) {
            lock.notifyAll();
        }
    }

    // --- scheduling -------------------------------------------------------------------------------------------

    private void enqueueFresh(QueueId id) { // holds lock
        if (owned.put(id, QueueState.INCOMING) == null) {
            queued.incrementAndGet();
        }
        fresh.add(id);
        freshCount = fresh.size();
        lock.notifyAll();
    }

    private void enqueueDeferred(QueueId id, Instant at) { // holds lock
        if (owned.put(id, QueueState.DEFERRED) == null) {
            queued.incrementAndGet();
        }
        waiting.add(new Due(id, at));
        lock.notifyAll();
    }

    private void forget(QueueId id) { // holds lock
        if (owned.remove(id) != null) {
            queued.decrementAndGet();
        }
    }

    private record Pick(QueueId id, QueueState from) {}

    private void schedule() {
        while (running) {
            Pick pick;
            try {
                slots.acquire(); // the bounded active window
            } catch (InterruptedException e) {
                return;
            }
            try {
                synchronized (lock) {
                    while ((pick = next()) == null) {
                        lock.wait(idleMillis());
                    }
                    owned.put(pick.id, QueueState.ACTIVE);
                }
            } catch (InterruptedException e) {
                slots.release();
                return;
            }
            try {
                dispatch(pick);
            } catch (RuntimeException | SpoolException e) {
                slots.release();
                if (!running) {
                    synchronized (lock) {
                        forget(pick.id);
                    }
                    // stop() interrupted the scheduler in the middle of a move: the spool puts the message back
                    // at the next start, which is the documented outcome of a stop, not an error
                    log.info("{}: delivery not started, stopping; retried at next start", pick.id);
                } else {
                    // not forgotten until a restart: taken up again from the state the spool holds it in
                    log.error("{}: cannot start delivery, taken up again from the spool in {}: {}", pick.id,
                            Dsn.human(outcomeRetryDelay), e.toString());
                    takeBack(pick.id);
                }
                probed(pick.id);
            }
        }
    }

    /** Fair pick: new mail and due deferred mail take turns; either one alone takes every turn. */
    private Pick next() { // holds lock
        boolean deferredDue = !waiting.isEmpty() && !waiting.peek().at.isAfter(clock.instant());
        if (!fresh.isEmpty() && (freshTurn || !deferredDue)) {
            freshTurn = false;
            QueueId id = fresh.poll();
            freshCount = fresh.size();
            if (freshCount <= FLOW_BACKLOG && flowWaiters.get() > 0) {
                flowLock.lock();
                try {
                    flowRoom.signalAll();
                } finally {
                    flowLock.unlock();
                }
            }
            return new Pick(id, QueueState.INCOMING);
        }
        if (deferredDue) {
            freshTurn = true;
            QueueId id = waiting.poll().id;
            if (probeCandidate.containsValue(id)) {
                // it goes to take the probe: no other candidate until it is done (see probed)
                probing.put(id, parked.get(id));
                unpark(id, false);
            } else {
                unpark(id, true); // the end of its lifetime: it goes now like any due message
            }
            return new Pick(id, QueueState.DEFERRED);
        }
        return null;
    }

    private long idleMillis() { // holds lock
        if (waiting.isEmpty()) {
            return MAX_IDLE_MILLIS;
        }
        long ms = Duration.between(clock.instant(), waiting.peek().at).toMillis();
        return Math.max(1, Math.min(ms, MAX_IDLE_MILLIS));
    }

    private void dispatch(Pick p) throws SpoolException {
        Spool.Stored known = justCommitted.remove(p.id);
        spool.move(p.id, p.from, QueueState.ACTIVE);
        Optional<Spool.Stored> stored = known != null ? Optional.of(known) : spool.load(QueueState.ACTIVE, p.id);
        if (stored.isEmpty()) { // quarantined: logged by the spool
            synchronized (lock) {
                forget(p.id);
            }
            probed(p.id);
            slots.release();
            return;
        }
        Envelope envelope = stored.get().envelope();
        long size = stored.get().bodySize();
        listener.attempted(envelope, envelope.attempts() + 1);
        engine.deliver(envelope, spool.bodyPath(p.id), size)
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
                        probed(envelope.id());
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
        synchronized (lock) {
            if (!running) {
                return; // the next start takes it from the spool
            }
            Optional<QueueState> now;
            try {
                now = spool.releaseActive(id);
            } catch (SpoolException | RuntimeException e) {
                log.warn("{}: still cannot take it back from active, trying again in {}: {}", id,
                        Dsn.human(outcomeRetryDelay), e.toString());
                forget(id);
                later(() -> takeBack(id));
                return;
            }
            switch (now.orElse(null)) {
                case INCOMING -> {
                    if (owned.put(id, QueueState.INCOMING) == null) { // operator actions apply; scheduled later
                        queued.incrementAndGet();
                    }
                    later(() -> {
                        synchronized (lock) {
                            if (running && owned.get(id) == QueueState.INCOMING && !fresh.contains(id)) {
                                fresh.add(id);
                                freshCount = fresh.size();
                                lock.notifyAll();
                            }
                        }
                    });
                }
                case DEFERRED -> enqueueDeferred(id, clock.instant().plus(outcomeRetryDelay));
                case null, default -> forget(id);
            }
        }
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
        listener.reported(envelope, report);
        if (!delivered.isEmpty()) {
            log.info("{}: delivered from=<{}> to={} upstream={} reply=\"{}\" delay={}ms size={} attempt={}",
                    envelope.id(), envelope.sender(), addresses(delivered), report.upstream(),
                    detail(report, delivered), delay.toMillis(), size, attempt);
            listener.delivered(envelope, delivered, report.upstream(), size, delay);
        }
        List<Dsn.Failure> permanent = new ArrayList<>();
        if (!failed.isEmpty()) {
            log.info("{}: failed from=<{}> to={} upstream={} reply=\"{}\" delay={}ms size={} attempt={}",
                    envelope.id(), envelope.sender(), addresses(failed), report.upstream(), detail(report, failed),
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
                                    + "age={}", envelope.id(), envelope.sender(), addresses(pending),
                            report.upstream(), reason, delay.toMillis(), size, attempt, Dsn.human(e.age()));
                    listener.expired(envelope, pending, e.age());
                    pending.forEach(r -> permanent.add(new Dsn.Failure(r,
                            Dsn.expiredReason(retry.maxLifetime(), report.byRecipient().get(r).detail()), true)));
                    pending = List.of();
                }
            }
        }
        if (!permanent.isEmpty()) {
            bounce(envelope, size, permanent, now); // before the original leaves active/: a crash repeats, never loses it
        }
        if (!pending.isEmpty() && wait != null && wait.open()) {
            // stored due now: a restart (whose circuits start closed) tries it at once
            String reason = detail(report, pending);
            spool.update(attempted ? envelope.deferred(pending, next, reason)
                    : envelope.notAttempted(pending, next, reason), size, QueueState.ACTIVE, QueueState.DEFERRED);
            log.info("{}: deferred from=<{}> to={} upstream={} reply=\"{}\" delay={}ms size={} attempt={} next={} "
                            + "attempted={} waiting={}", envelope.id(), envelope.sender(), addresses(pending),
                    report.upstream(), reason, delay.toMillis(), size, attempt, next, attempted,
                    String.join(",", wait.upstreams()));
            listener.deferred(envelope, pending, reason, next);
            synchronized (lock) {
                park(envelope.id(), wait.upstreams(), envelope.receivedAt().plus(retry.maxLifetime()), true);
            }
        } else if (!pending.isEmpty()) {
            String reason = detail(report, pending);
            spool.update(envelope.deferred(pending, next, reason), size, QueueState.ACTIVE, QueueState.DEFERRED);
            log.info("{}: deferred from=<{}> to={} upstream={} reply=\"{}\" delay={}ms size={} attempt={} next={}",
                    envelope.id(), envelope.sender(), addresses(pending), report.upstream(), reason,
                    delay.toMillis(), size, attempt, next);
            listener.deferred(envelope, pending, reason, next);
            synchronized (lock) {
                if (wait != null) { // its upstreams were unreachable: a circuit that closes again releases it
                    park(envelope.id(), wait.upstreams(), next, false);
                } else {
                    enqueueDeferred(envelope.id(), next);
                }
            }
        } else if (!permanent.isEmpty()) {
            // kept as a dead letter for inspection and requeue
            spool.update(envelope.deferred(permanent.stream().map(Dsn.Failure::recipient).toList(), now,
                    permanent.get(0).detail()), size, QueueState.ACTIVE, QueueState.FAILED);
            synchronized (lock) {
                forget(envelope.id());
            }
        } else {
            deliveryDone.run(); // (stop() waits for the outcomes still being recorded, this removal too)
            spool.remove(envelope.id(), QueueState.ACTIVE);
            synchronized (lock) {
                forget(envelope.id());
            }
        }
    }

    // --- waiting for a circuit ---------------------------------------------------------------------------------

    /** Whether mail may go through {@code upstream} now (closed, or open past its cool-down: the probe). */
    private boolean availableNow(String upstream, Instant now) {
        Instant at = engine.availableAt(upstream);
        return !at.equals(Instant.MAX) && !at.isAfter(now);
    }

    /**
     * A deferred message waits for a circuit of {@code upstreams} (its route's): in {@link #waiting} at {@code at}
     * (the end of its lifetime when {@code open}; its backoff otherwise) unless it becomes an upstream's probe
     * candidate, and released at once when one of these circuits closes. When {@code open} and a circuit closed
     * (or can take its probe) since the report, it is due now instead: the change's wake-up may have come and gone.
     */
    private void park(QueueId id, List<String> upstreams, Instant at, boolean open) { // holds lock
        if (owned.put(id, QueueState.DEFERRED) == null) {
            queued.incrementAndGet();
        }
        Instant now = clock.instant();
        if (open && upstreams.stream().anyMatch(u -> availableNow(u, now))) {
            waiting.add(new Due(id, now));
            lock.notifyAll();
            return;
        }
        parked.put(id, upstreams);
        for (String u : upstreams) {
            parkedOn.computeIfAbsent(u, k -> new java.util.LinkedHashSet<>()).add(id);
        }
        waiting.add(new Due(id, at));
        for (String u : upstreams) {
            ensureProbe(u);
        }
        lock.notifyAll();
    }

    /**
     * Makes one message parked on {@code upstream} due at the end of its circuit's cool-down, so that someone takes
     * the probe (without it, mail that only waits for the circuit would never make it close). Nothing while the
     * probe is in flight: its outcome changes the circuit, and the change calls here again.
     */
    private void ensureProbe(String upstream) { // holds lock
        Instant at = engine.availableAt(upstream);
        if (at.equals(Instant.MAX) || at.equals(Instant.MIN) || probeCandidate.containsKey(upstream)) {
            return;
        }
        java.util.LinkedHashSet<QueueId> ids = parkedOn.get(upstream);
        if (ids == null || ids.isEmpty()) {
            return;
        }
        QueueId id = ids.iterator().next(); // the longest waiting
        probeCandidate.put(upstream, id);
        Instant now = clock.instant();
        Instant due = at.isBefore(now) ? now : at;
        Due current = null;
        for (Due d : waiting) {
            if (d.id.equals(id)) {
                current = d;
                break;
            }
        }
        if (current == null || current.at.isAfter(due)) {
            if (current != null) {
                waiting.remove(current);
            }
            waiting.add(new Due(id, due));
            lock.notifyAll();
        }
    }

    /** The message no longer waits for a circuit (its entry in {@link #waiting} is the caller's business). */
    private void unpark(QueueId id) { // holds lock
        unpark(id, true);
    }

    /** As {@link #unpark(QueueId)}; {@code replace}: if it was a probe candidate, another parked message is. */
    private void unpark(QueueId id, boolean replace) { // holds lock
        List<String> upstreams = parked.remove(id);
        if (upstreams == null) {
            return;
        }
        for (String u : upstreams) {
            java.util.LinkedHashSet<QueueId> ids = parkedOn.get(u);
            if (ids != null) {
                ids.remove(id);
                if (ids.isEmpty()) {
                    parkedOn.remove(u);
                }
            }
            if (id.equals(probeCandidate.get(u))) {
                probeCandidate.remove(u);
                if (replace) {
                    ensureProbe(u); // another one takes its place
                }
            }
        }
    }

    /**
     * A probe candidate's delivery is over, whatever became of it: if it did not change the circuit (another
     * delivery had taken the probe, the route changed, the message was quarantined), no change will call
     * {@link #circuitChanged}, so the upstreams get a candidate again here.
     */
    private void probed(QueueId id) {
        synchronized (lock) {
            List<String> upstreams = probing.remove(id);
            if (upstreams != null) {
                upstreams.forEach(this::ensureProbe);
            }
        }
    }

    /**
     * An upstream's circuit changed (the routing engine calls here, outside its locks). Closed: every message
     * parked on it is due now, through the active window like any due mail (fairly with new mail, at the
     * upstream's rate). Open again (a failed probe): a parked message is due at the end of the new cool-down.
     */
    private void circuitChanged(String upstream) {
        synchronized (lock) {
            Instant at = engine.availableAt(upstream);
            if (!at.equals(Instant.MIN)) {
                ensureProbe(upstream);
                return;
            }
            java.util.LinkedHashSet<QueueId> ids = parkedOn.get(upstream);
            if (ids == null || ids.isEmpty()) {
                return;
            }
            int n = releaseParked(new java.util.LinkedHashSet<>(ids));
            log.info("upstream {}: circuit closed, {} waiting messages released", upstream, n);
        }
    }

    /** Makes the parked messages due now; returns how many there were. */
    private int releaseParked(java.util.Set<QueueId> ids) { // holds lock
        for (QueueId id : ids) {
            unpark(id);
        }
        waiting.removeIf(d -> ids.contains(d.id));
        probeCandidate.values().removeIf(ids::contains);
        Instant now = clock.instant();
        ids.forEach(id -> waiting.add(new Due(id, now)));
        lock.notifyAll();
        return ids.size();
    }

    /** Addresses for a key=value log line: {@code <a@x>,<b@y>}, no spaces. */
    private static String addresses(List<MailAddress> list) {
        StringBuilder b = new StringBuilder();
        for (MailAddress a : list) {
            b.append(b.isEmpty() ? "" : ",").append('<').append(a).append('>');
        }
        return b.toString();
    }

    /** Notifies the sender of permanent failures: a DSN queued like any message, or a log line. */
    private void bounce(Envelope original, long size, List<Dsn.Failure> failures, Instant now) {
        List<MailAddress> recipients = failures.stream().map(Dsn.Failure::recipient).toList();
        if (original.sender().isNullSender()) {
            log.info("{}: no bounce for failed to={}: the sender is null (a bounce never bounces)",
                    original.id(), addresses(recipients));
            return;
        }
        if (!bounces.send()) {
            log.info("{}: bounce not sent (queue.bounces=log) from=<{}> failed={}", original.id(),
                    original.sender(), addresses(recipients));
            listener.bounced(original, recipients, false, null);
            return;
        }
        try {
            byte[] headers = Dsn.readHeaders(spool.bodyPath(original.id()), size);
            QueueId dsnId = QueueId.next(now);
            byte[] dsn = Dsn.build(bounces.reportingMta(), dsnId, original, failures, headers, now);
            Envelope env = Envelope.received(dsnId, MailAddress.NULL_SENDER, List.of(original.sender()), now, "");
            spool.store(env, new ByteArrayInputStream(dsn));
            log.info("{}: bounced dsn={} to=<{}> failed={}", original.id(), dsnId, original.sender(),
                    addresses(recipients));
            listener.bounced(original, recipients, true, dsnId);
            synchronized (lock) {
                enqueueFresh(dsnId);
            }
        } catch (IOException | RuntimeException e) {
            // the original stays in failed/ with its reason: nothing is lost, the sender is just not told
            log.error("{}: cannot queue a bounce to <{}>: {}", original.id(), original.sender(), e.toString());
        }
    }

    private static String detail(DeliveryReport report, List<MailAddress> recipients) {
        return report.byRecipient().get(recipients.get(0)).detail();
    }

    // --- operator actions (through QueueAdmin) -----------------------------------------------------------------

    /** Thrown when an action does not apply to the message as it is now. */
    static final class Refused extends Exception {
        final boolean notFound;

        Refused(boolean notFound, String message) {
            super(message);
            this.notFound = notFound;
        }
    }

    private QueueState locate(QueueId id) throws Refused { // holds lock
        QueueState s = owned.get(id);
        if (s == null) {
            s = spool.stateOf(id).orElseThrow(() -> new Refused(true, "no message " + id + " in the queue"));
        }
        if (s == QueueState.ACTIVE) {
            throw new Refused(false, id + " is being delivered right now: try again in a moment");
        }
        if (owned.get(id) == null && (s == QueueState.INCOMING || s == QueueState.DEFERRED)) {
            throw new Refused(false, id + " is being scheduled: try again in a moment");
        }
        return s;
    }

    private void unschedule(QueueId id, QueueState s) { // holds lock
        if (s == QueueState.INCOMING) {
            fresh.remove(id);
            freshCount = fresh.size(); // (a submitter waiting for room wakes within its pause at most)
            justCommitted.remove(id);
        } else if (s == QueueState.DEFERRED) {
            unpark(id);
            waiting.removeIf(d -> d.id.equals(id));
        }
        forget(id);
    }

    QueueState hold(QueueId id) throws Refused, SpoolException {
        synchronized (lock) {
            QueueState s = locate(id);
            if (s != QueueState.INCOMING && s != QueueState.DEFERRED) {
                throw new Refused(false, id + " is in " + s.key() + ": only incoming and deferred messages can be "
                        + "held");
            }
            unschedule(id, s);
            try {
                spool.move(id, s, QueueState.HOLD);
            } catch (SpoolException e) {
                reschedule(id, s);
                throw e;
            }
            log.info("{}: held (was {})", id, s.key());
            return s;
        }
    }

    private void reschedule(QueueId id, QueueState s) throws SpoolException { // holds lock
        if (s == QueueState.INCOMING) {
            enqueueFresh(id);
        } else {
            Instant at = spool.peek(s, id).map(st -> st.envelope().nextAttempt()).orElse(clock.instant());
            enqueueDeferred(id, at);
        }
    }

    void release(QueueId id) throws Refused, SpoolException {
        synchronized (lock) {
            QueueState s = locate(id);
            if (s != QueueState.HOLD) {
                throw new Refused(false, id + " is in " + s.key() + ", not hold");
            }
            spool.move(id, QueueState.HOLD, QueueState.INCOMING);
            enqueueFresh(id);
            log.info("{}: released to incoming", id);
        }
    }

    void retryNow(QueueId id) throws Refused {
        synchronized (lock) {
            QueueState s = locate(id);
            switch (s) {
                case INCOMING -> { } // due already
                case DEFERRED -> {
                    // its route's open circuits let a probe through now: a retry does not bounce off them
                    spool.peek(QueueState.DEFERRED, id).ifPresent(st -> engine.probeNow(st.envelope()));
                    unpark(id);
                    waiting.removeIf(d -> d.id.equals(id));
                    waiting.add(new Due(id, clock.instant()));
                    lock.notifyAll();
                    log.info("{}: retry now (operator)", id);
                }
                case HOLD -> throw new Refused(false, id + " is held: release it to deliver it");
                case FAILED -> throw new Refused(false, id + " failed: requeue it to try again");
                default -> throw new Refused(false, id + " is in " + s.key() + " and cannot be retried");
            }
        }
    }

    int retryAllNow() {
        synchronized (lock) {
            engine.probeAllNow(); // open circuits let a probe through now: the retry does not bounce off them
            Instant now = clock.instant();
            List<Due> all = new ArrayList<>(waiting);
            waiting.clear();
            parked.clear();
            parkedOn.clear();
            probeCandidate.clear();
            all.forEach(d -> waiting.add(new Due(d.id, now)));
            lock.notifyAll();
            if (!all.isEmpty()) {
                log.info("queue: {} deferred messages retried now (operator)", all.size());
            }
            return all.size();
        }
    }

    QueueState delete(QueueId id) throws Refused, SpoolException {
        synchronized (lock) {
            QueueState s = locate(id);
            unschedule(id, s);
            spool.remove(id, s);
            log.info("{}: deleted from {} (operator)", id, s.key());
            return s;
        }
    }

    /** A failed message back to incoming with its failed recipients, as if just received (a new lifetime). */
    void requeue(QueueId id) throws Refused, SpoolException {
        synchronized (lock) {
            QueueState s = locate(id);
            if (s != QueueState.FAILED) {
                throw new Refused(false, id + " is in " + s.key() + ": only failed messages can be requeued");
            }
            Spool.Stored st = spool.peek(QueueState.FAILED, id)
                    .orElseThrow(() -> new Refused(true, "no readable message " + id + " in failed"));
            Envelope e = st.envelope();
            Instant now = clock.instant();
            spool.update(new Envelope(e.id(), e.sender(), e.recipients(), now, e.submitter(), 0, now, "", e.smtputf8()),
                    st.bodySize(), QueueState.FAILED, QueueState.INCOMING);
            enqueueFresh(id);
            log.info("{}: requeued from failed to={}", id, e.recipients());
        }
    }

    /**
     * Stops scheduling and waits up to {@code grace} for deliveries in flight. Whatever is not finished stays in
     * the spool (active/ goes back to incoming/ at the next start).
     */
    public void stop(Duration grace) {
        running = false;
        flowLock.lock();
        try {
            flowRoom.signalAll(); // submitters in an in-flow pause answer now
        } finally {
            flowLock.unlock();
        }
        if (scheduler != null) {
            scheduler.interrupt();
        }
        if (sweeper != null) {
            sweeper.interrupt();
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

    private record Due(QueueId id, Instant at) implements Comparable<Due> {
        @Override
        public int compareTo(Due o) {
            int c = at.compareTo(o.at);
            return c != 0 ? c : id.value().compareTo(o.id.value());
        }
    }
}
