package dev.relay.core.queue;

import dev.relay.core.model.QueueId;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.Spool;
import dev.relay.core.spool.SpoolException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.slf4j.Logger;

/**
 * The sweep of dead letters (what Postfix leaves to {@code postsuper} from cron, built in): a failed message is
 * removed {@code retention} after its last attempt (a failed envelope's next-attempt time), at start and every
 * {@link #INTERVAL}. Each removal is decided through the scheduler, like an operator action: a message the
 * scheduler owns (an operator just requeued it) is left alone.
 */
final class FailedSweep {
    private static final Logger log = QueueManager.LOG;
    static final Duration INTERVAL = Duration.ofHours(1);

    private final QueueParts parts;
    private final Duration retention;
    private final StageThread thread = new StageThread("relay-failed-sweeper");

    FailedSweep(QueueParts parts, Duration retention) {
        this.parts = parts;
        this.retention = retention;
    }

    /** Sweeps now, then every {@link #INTERVAL} on a virtual thread until {@link #stop}. */
    void start() {
        thread.start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                sweep();
                try {
                    Thread.sleep(INTERVAL);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    void stop() {
        thread.stop();
    }

    /** Removes the dead letters older than the retention; returns how many. */
    int sweep() {
        Spool spool = parts.spool();
        Scheduler scheduler = parts.scheduler();
        Instant limit = parts.clock().instant().minus(retention);
        int removed = 0;
        try {
            for (QueueId id : spool.list(QueueState.FAILED)) {
                Optional<Spool.Stored> s = spool.peek(QueueState.FAILED, id);
                if (s.isPresent() && !s.get().envelope().nextAttempt().isAfter(limit) && scheduler.locked(() -> {
                    if (scheduler.owns(id) || spool.stateOf(id).orElse(null) != QueueState.FAILED) {
                        return false;
                    }
                    spool.remove(id, QueueState.FAILED);
                    return true;
                })) {
                    removed++;
                }
            }
        } catch (SpoolException e) {
            log.warn("queue: cannot sweep failed/: {}", e.getMessage());
        }
        if (removed > 0) {
            log.info("queue: {} failed messages older than {} removed", removed, Dsn.human(retention));
        }
        return removed;
    }
}
