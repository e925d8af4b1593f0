package dev.relay.core.delivery;

/** An upstream's rate limit as its connection pool asks it, on the pool's event loop. */
interface Limiter {
    /**
     * Takes a token for one message if there is one; {@code factor} (1 normally, smaller under back-pressure)
     * scales the per-second rate.
     *
     * @return 0 if the message may go now, else the nanoseconds until it may (nothing is taken then)
     */
    long tryAcquire(long now, double factor);

    /**
     * The nanoseconds from {@code now} until the limiter grants the {@code k}-th token from now on (k at least 1),
     * if nothing else takes one meanwhile: 0 if it has {@code k} already. Takes nothing.
     */
    long untilGrant(long now, double factor, long k);
}
