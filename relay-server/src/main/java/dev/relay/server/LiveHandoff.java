package dev.relay.server;

import dev.relay.config.HandoffConfig;
import dev.relay.core.handoff.Handoff;
import dev.relay.core.spool.SpoolException;
import dev.relay.server.admin.action.HandoffRequest;
import dev.relay.server.admin.action.QueueActions;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hand-off by hand on the running relay ({@code relay queue handoff} through {@code POST /api/queue/handoff}):
 * one at a time, none once the relay stops (its stop hands off by itself with {@code handoff.to}), and a stop waits
 * for the one running before its own hand-off and the spool's close. The relay keeps receiving and delivering
 * meanwhile; only the messages queued when the hand-off starts go, each taken through the scheduler.
 */
final class LiveHandoff implements QueueActions.Handoffs {
    private static final Logger log = LoggerFactory.getLogger(LiveHandoff.class);
    /** What a stop waits beyond a running hand-off's timeout: the peer engine's close and the last removals. */
    private static final Duration STOP_SLACK = Duration.ofSeconds(30);

    /** One hand-off with its configuration: {@link HandoffWiring#runLive}. */
    @FunctionalInterface
    interface Run {
        Handoff.Summary run(HandoffConfig h) throws SpoolException;
    }

    private final HandoffConfig configured;
    private final Run run;
    private final ReentrantLock running = new ReentrantLock();
    private volatile boolean stopping;
    private volatile long endsBy; // System.nanoTime() by which the running hand-off is over

    /** @param configured the relay's {@code handoff.*}, which a request's parts override */
    LiveHandoff(HandoffConfig configured, Run run) {
        this.configured = configured;
        this.run = run;
    }

    @Override
    public Handoff.Summary handoff(HandoffRequest request, String by) throws SpoolException {
        HandoffConfig h = request.apply(configured);
        if (!running.tryLock()) {
            throw new IllegalStateException("a hand-off is running already: wait for its counts, then ask again");
        }
        try {
            endsBy = System.nanoTime() + h.timeout().plus(STOP_SLACK).toNanos();
            if (stopping) { // checked under the lock: a stop that set it waits for this lock
                throw new IllegalStateException("the relay is stopping: no hand-off by hand now (with handoff.to its "
                        + "stop hands off by itself)");
            }
            log.info("handoff: asked by {} through the admin API", by);
            return run.run(h);
        } finally {
            running.unlock();
        }
    }

    /** No hand-off by hand from now on; waits for the one running, if any, to end (within its timeout). */
    void stop() {
        stopping = true;
        try {
            while (!running.tryLock(1, TimeUnit.SECONDS)) { // (endsBy is set under the lock: read it again)
                log.info("handoff: waiting for the hand-off by hand to end");
                if (System.nanoTime() - endsBy > 0) {
                    log.warn("handoff: the hand-off by hand is still running; stopping anyway, what it did not "
                            + "hand off stays in the spool");
                    return;
                }
            }
            running.unlock();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
