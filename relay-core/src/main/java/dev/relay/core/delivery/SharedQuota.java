package dev.relay.core.delivery;

/**
 * An upstream's rate-limit tokens shared with the other replicas of a cluster (the server implements it on
 * PostgreSQL). {@link #take} blocks for a database round trip: the delivery engine calls it on a virtual thread,
 * never on its event loop, and takes tokens in small batches so that it makes well under one call per message.
 */
public interface SharedQuota {
    /**
     * Takes up to {@code tokens} of the upstream's shared tokens (fewer, or none, when the shared bucket has fewer).
     *
     * @throws Exception if the shared state cannot be reached: the engine then sends at its share of the rate,
     *                   {@code rate / expectedReplicas()}, and tries the shared state again a few seconds later
     */
    Grant take(String upstream, UpstreamTarget.Rate rate, long tokens) throws Exception;

    /** How many replicas share the quota: while it cannot be reached, each sends at {@code rate / this}. */
    int expectedReplicas();

    /** The upstream's limiter went to its local fallback share ({@code true}) or back to the shared bucket. */
    void fallback(String upstream, boolean on);

    /**
     * What a {@link #take} got.
     *
     * @param tokens      taken: 0 to the number asked for
     * @param nanosToWait when none were taken, until the shared bucket has some again
     * @param nanosValid  how long the tokens taken may be used: they belong to the quota's current window, and a
     *                    token used later could make the next window exceed the rate
     */
    record Grant(long tokens, long nanosToWait, long nanosValid) {
    }
}
