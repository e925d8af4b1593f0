package dev.relay.core.delivery;

/**
 * Events of the delivery engine for metrics (the server module implements it with Micrometer). Methods are called
 * on the engine's event loop: they must be fast and must not throw (an exception is logged and ignored).
 */
public interface DeliveryListener {
    /** Listens to nothing. */
    DeliveryListener NONE = new DeliveryListener() { };

    /** A new connection to the upstream was started. */
    default void connectionOpened(String upstream) {
    }

    /** An open connection was used for another message instead of opening one. */
    default void connectionReused(String upstream) {
    }

    /** A connection ended (idle, message limit, error or shutdown). */
    default void connectionClosed(String upstream) {
    }

    /** A message had to wait for the upstream's rate limit (or a back-pressure pause). */
    default void rateLimited(String upstream) {
    }

    /** The upstream answered with a throttling reply; the engine slows down for a while. */
    default void throttled(String upstream, String reply) {
    }

    /**
     * The upstream answered with a reply about the relay's account that raises an alert (see
     * {@link AccountReplies.Verdict#alerts}): called for the first such reply of each reason until
     * {@link #accountRecovered}.
     *
     * @param fix what to change, from the account reply table
     */
    default void accountProblem(String upstream, String reason, String fix) {
    }

    /**
     * A message went through the upstream again: every account problem raised for it is over. Also called at the
     * first delivery of a new engine for the upstream (after a reload), whatever was raised before.
     */
    default void accountRecovered(String upstream) {
    }
}
