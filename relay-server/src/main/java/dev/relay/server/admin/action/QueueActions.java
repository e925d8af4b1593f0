package dev.relay.server.admin.action;

import dev.relay.core.handoff.Handoff;
import dev.relay.core.model.QueueId;
import dev.relay.core.queue.QueueAdmin;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.SpoolException;
import java.util.List;

/**
 * One queue action on one message through {@link QueueAdmin} (which enforces the states each allows), recorded
 * afterwards with who did it. {@code /api/queue} and the web console both act through this.
 */
public final class QueueActions {
    /** The actions by name. */
    public static final List<String> NAMES = List.of("retry", "hold", "release", "requeue", "delete");

    /** Where an operator's action is recorded (the message history): queue id, action, who. */
    public interface Recorder {
        Recorder NONE = (id, action, by) -> { };

        void acted(String id, String action, String by);
    }

    /**
     * The hand-off of the queue by hand on this running relay ({@code POST /api/queue/handoff}): the messages
     * queued when it starts (incoming and deferred), each taken through the scheduler, to the requested or the
     * configured peer; returns the counts when it is over.
     */
    public interface Handoffs {
        /**
         * @param by who asked, for the log
         * @throws IllegalStateException    when a hand-off runs already or the relay is stopping
         * @throws IllegalArgumentException when the request is incomplete or invalid (see {@link HandoffRequest})
         */
        Handoff.Summary handoff(HandoffRequest request, String by) throws SpoolException;
    }

    /** What an action did: the result word of the API ({@code held}) and a sentence ({@code moved from ...}). */
    public record Done(String result, String message) {}

    private final QueueAdmin admin;
    private final Recorder recorder;

    public QueueActions(QueueAdmin admin, Recorder recorder) {
        this.admin = admin;
        this.recorder = recorder;
    }

    /**
     * Does {@code action} to message {@code id} and records it as done by {@code by}.
     *
     * @throws IllegalArgumentException for an action not in {@link #NAMES}
     */
    public Done act(QueueId id, String action, String by) throws QueueAdmin.ActionException, SpoolException {
        Done done = switch (action) {
            case "retry" -> {
                admin.retry(id);
                yield new Done("retried", "due now");
            }
            case "hold" -> {
                QueueState was = admin.hold(id);
                yield new Done("held", "moved from " + was.key() + " to hold");
            }
            case "release" -> {
                admin.release(id);
                yield new Done("released", "moved from hold to incoming");
            }
            case "requeue" -> {
                admin.requeue(id);
                yield new Done("requeued", "moved from failed to incoming");
            }
            case "delete" -> {
                QueueState was = admin.delete(id);
                yield new Done("deleted", "deleted from " + was.key());
            }
            default -> throw new IllegalArgumentException("unknown action '" + action
                    + "': use retry, hold, release, requeue or delete");
        };
        recorder.acted(id.value(), action, by);
        return done;
    }
}
