package dev.relay.core.queue;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.Spool;
import dev.relay.core.spool.SpoolException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import org.slf4j.Logger;

/**
 * Stage: delay warnings (Postfix's {@code delay_warning_time}). The sender of a message still undelivered
 * {@code after} its receipt gets one warning, a report with {@code Action: delayed} for the recipients still being
 * retried ({@link Bounce#warn}); never for a null sender, and never again: the envelope records it
 * ({@link Envelope#delayWarned()}), in the same write that defers the message or just after the warning is queued,
 * so a crash in between repeats the warning (as Postfix's qmgr, which marks its queue file after the bounce daemon
 * took the warning) but never loses it.
 *
 * <p>The warning is checked at each deferral, as Postfix does when a message leaves its active queue, and at the
 * warning time itself for a deferred message whose next attempt is later: a wake-up kept in memory per deferred
 * message not warned yet (rebuilt from deferred/ at start) rather than a periodic sweep, which would read every
 * deferred envelope at each round and still be up to a round late. The wake-up acts under the scheduler's lock on a
 * message the scheduler holds as deferred, so it never races a delivery; one being delivered is left to its settle.
 */
final class DelayWarning {
    private static final Logger log = QueueManager.LOG;

    private final QueueParts parts;
    private final Duration after;
    private final Bounce bounce;
    /** The deferred messages not warned yet, by warning time; guarded by itself. */
    private final PriorityQueue<Scheduler.Due> due = new PriorityQueue<>();
    private final Set<QueueId> watched = new HashSet<>();
    private final StageThread thread = new StageThread("relay-delay-warnings");

    /** @param after how long after receipt the sender is warned; null: never */
    DelayWarning(QueueParts parts, Duration after, Bounce bounce) {
        this.parts = parts;
        this.after = after;
        this.bounce = bounce;
    }

    /** Whether the sender of {@code e} is to be warned at {@code now}. */
    private boolean due(Envelope e, Instant now) {
        return after != null && !e.delayWarned() && !e.sender().isNullSender()
                && !now.isBefore(e.receivedAt().plus(after));
    }

    /**
     * At a deferral of {@code delays}, before the deferred envelope is written: warns the sender if the time has
     * come; true when it did, and the envelope is then to be written {@link Envelope#withDelayWarned() warned}.
     */
    boolean atDeferral(Envelope e, long size, List<Dsn.Delay> delays, Instant until, Instant now) {
        return due(e, now) && bounce.warn(e, size, delays, until, now);
    }

    /** After a deferred envelope is written: its sender is warned at the warning time, unless it was already. */
    void watch(Envelope e) {
        if (after == null || e.delayWarned() || e.sender().isNullSender()) {
            return;
        }
        synchronized (due) {
            if (watched.add(e.id())) {
                due.add(new Scheduler.Due(e.id(), e.receivedAt().plus(after)));
                due.notifyAll();
            }
        }
    }

    /** Warns the senders of deferred messages whose warning time has come; returns how many were warned. */
    int warnDue() {
        Instant now = parts.clock().instant();
        List<QueueId> ids = new ArrayList<>();
        synchronized (due) {
            while (!due.isEmpty() && !due.peek().at().isAfter(now)) {
                QueueId id = due.poll().id();
                watched.remove(id);
                ids.add(id);
            }
        }
        int warned = 0;
        for (QueueId id : ids) {
            if (warnDeferred(id)) {
                warned++;
            }
        }
        return warned;
    }

    /** Warns the sender of {@code id} if the scheduler holds it as deferred and it is due a warning. */
    private boolean warnDeferred(QueueId id) {
        try {
            return parts.scheduler().locked(() -> {
                if (!parts.scheduler().ownsAs(id, QueueState.DEFERRED)) {
                    return false; // delivered or failed meanwhile, held, or being delivered: its settle decides
                }
                Optional<Spool.Stored> s = parts.spool().peek(QueueState.DEFERRED, id);
                Instant now = parts.clock().instant();
                if (s.isEmpty() || !due(s.get().envelope(), now)) {
                    return false;
                }
                Envelope e = s.get().envelope();
                List<Dsn.Delay> delays = e.recipients().stream().map(r -> new Dsn.Delay(r, e.lastError())).toList();
                Instant retriedUntil = e.receivedAt().plus(parts.retry().maxLifetime());
                if (!bounce.warn(e, s.get().bodySize(), delays, retriedUntil, now)) {
                    return false; // logged; the next deferral tries again
                }
                parts.spool().update(e.withDelayWarned(), s.get().bodySize(), QueueState.DEFERRED, QueueState.DEFERRED);
                return true;
            });
        } catch (SpoolException e) {
            log.warn("{}: cannot record the delay warning (the next deferral may warn again): {}", id,
                    e.getMessage());
            return false;
        }
    }

    /** Starts the wake-ups on a virtual thread (none when warnings are off) until {@link #stop}. */
    void start() {
        if (after == null) {
            return;
        }
        thread.start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    synchronized (due) {
                        long wait = waitMillis();
                        if (wait > 0) {
                            due.wait(wait);
                            continue;
                        }
                    }
                    warnDue();
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    log.error("queue: delay warnings: {}", e.toString(), e);
                }
            }
        });
    }

    private long waitMillis() { // holds due
        if (due.isEmpty()) {
            return Scheduler.MAX_IDLE_MILLIS; // as the scheduler's pick: a clock change is noticed within it
        }
        long ms = Duration.between(parts.clock().instant(), due.peek().at()).toMillis();
        return ms <= 0 ? 0 : Math.min(ms, Scheduler.MAX_IDLE_MILLIS);
    }

    /** Looks at the clock again (tests with a fake clock call it after advancing). */
    void wake() {
        synchronized (due) {
            due.notifyAll();
        }
    }

    void stop() {
        thread.stop();
    }
}
