package dev.relay.core.queue;

import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.Spool;
import dev.relay.core.spool.SpoolException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;

/**
 * The active window (Postfix's qmgr handing messages to its delivery agents): one platform thread takes a place in
 * the window ({@code maxConcurrent} at most), takes the next message from the {@link Scheduler}, moves it to
 * active/ and hands it to the delivery engine; the report is settled ({@link Settle}) on a virtual thread, never on
 * the engine's event loop, since it does spool I/O. A message that cannot start, or whose outcome cannot be
 * recorded, is taken back from what the spool holds after {@code outcomeRetryDelay}, not left active until a
 * restart.
 *
 * <p>Kept apart from the scheduler so that the scheduler is only data under its lock (FIFO, heap, ownership), and
 * apart from the facade so that {@link QueueManager} is only the lifecycle.
 */
final class Dispatch {
    private static final Logger log = QueueManager.LOG;
    /** How long a stop waits, after the deliveries, for the removals of delivered messages (one spool round each). */
    private static final long REMOVAL_GRACE_MILLIS = 2000;

    private final QueueParts parts;
    private final Settle settle;
    private final int maxConcurrent;
    private final Semaphore slots;
    private final ExecutorService outcomes = Executors.newVirtualThreadPerTaskExecutor();
    private volatile boolean running;
    /** How long after a failed recording of an outcome the message is taken up again from the spool. */
    volatile Duration outcomeRetryDelay = Duration.ofSeconds(5);
    private Thread picker;

    Dispatch(QueueParts parts, Settle settle, int maxConcurrent) {
        this.parts = parts;
        this.settle = settle;
        this.maxConcurrent = maxConcurrent;
        this.slots = new Semaphore(maxConcurrent);
    }

    /** Starts the thread that fills the window. */
    void start() {
        running = true;
        picker = Thread.ofPlatform().name("relay-scheduler").daemon().start(this::run);
    }

    private void run() {
        while (running) {
            Scheduler.Pick pick;
            try {
                slots.acquire(); // the bounded active window
            } catch (InterruptedException e) {
                return;
            }
            try {
                pick = parts.scheduler().take();
            } catch (InterruptedException e) {
                slots.release();
                return;
            }
            try {
                dispatch(pick);
            } catch (RuntimeException | SpoolException e) {
                slots.release();
                if (!running) {
                    parts.scheduler().forget(pick.id());
                    // stop() interrupted the scheduler in the middle of a move: the spool puts the message back
                    // at the next start, which is the documented outcome of a stop, not an error
                    log.info("{}: delivery not started, stopping; retried at next start", pick.id());
                } else {
                    // not forgotten until a restart: taken up again from the state the spool holds it in
                    log.error("{}: cannot start delivery, taken up again from the spool in {}: {}", pick.id(),
                            Dsn.human(outcomeRetryDelay), e.toString());
                    takeBack(pick.id());
                }
                parts.scheduler().deliveryOver(pick.id());
            }
        }
    }

    private void dispatch(Scheduler.Pick p) throws SpoolException {
        Spool.Stored known = parts.scheduler().takeCommitted(p.id());
        parts.spool().move(p.id(), p.from(), QueueState.ACTIVE);
        Optional<Spool.Stored> stored = known != null ? Optional.of(known)
                : parts.spool().load(QueueState.ACTIVE, p.id());
        if (stored.isEmpty()) { // quarantined: logged by the spool
            parts.scheduler().forget(p.id());
            parts.scheduler().deliveryOver(p.id());
            slots.release();
            return;
        }
        Envelope envelope = stored.get().envelope();
        long size = stored.get().bodySize();
        parts.listener().attempted(envelope, envelope.attempts() + 1);
        parts.engine().deliver(envelope, parts.spool().body(p.id(), size))
                .whenCompleteAsync((report, error) -> {
                    AtomicBoolean slot = new AtomicBoolean(true);
                    try {
                        if (error != null) { // the engine's contract says never; be safe anyway
                            report = DeliveryReport.all("-", envelope.recipients(),
                                    new Outcome.TransientFailure("delivery engine error: " + error));
                        }
                        settle.apply(envelope, size, report, () -> releaseOnce(slot));
                    } catch (SpoolException | RuntimeException e) {
                        log.error("{}: cannot record delivery outcome, taken up again from the spool in {}: {}",
                                envelope.id(), Dsn.human(outcomeRetryDelay), e.toString());
                        takeBack(envelope.id());
                    } finally {
                        releaseOnce(slot);
                        parts.scheduler().deliveryOver(envelope.id());
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
        parts.scheduler().locked(() -> {
            if (!running) {
                return null; // the next start takes it from the spool
            }
            Optional<QueueState> now;
            try {
                now = parts.spool().releaseActive(id);
            } catch (SpoolException | RuntimeException e) {
                log.warn("{}: still cannot take it back from active, trying again in {}: {}", id,
                        Dsn.human(outcomeRetryDelay), e.toString());
                parts.scheduler().forget(id);
                later(() -> takeBack(id));
                return null;
            }
            switch (now.orElse(null)) {
                case INCOMING -> { // owned again, so operator actions apply; fed to the scheduler later
                    parts.scheduler().ownIncoming(id);
                    later(() -> {
                        if (running) {
                            parts.scheduler().refeed(id);
                        }
                    });
                }
                case DEFERRED -> parts.scheduler().enqueueDeferred(id, parts.clock().instant().plus(outcomeRetryDelay));
                case null, default -> parts.scheduler().forget(id);
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
     * Stops scheduling and waits up to {@code grace} for deliveries in flight. Whatever is not finished stays in
     * the spool (active/ goes back to incoming/ at the next start).
     */
    void stop(Duration grace) {
        running = false;
        if (picker != null) {
            picker.interrupt();
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
}
