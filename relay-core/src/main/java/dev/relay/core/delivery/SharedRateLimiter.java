package dev.relay.core.delivery;

import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An upstream's rate limit shared with the other replicas through a {@link SharedQuota}: a local reservoir of
 * tokens, refilled by taking a small batch at once from the shared bucket (a quarter of a second's rate), so that a
 * replica makes well under one database round trip per message and never holds more than a fraction of a second's
 * quota. The round trip runs on {@code executor} (virtual threads), never on the pool's event loop: meanwhile the
 * limiter answers "wait", and the refill's end wakes the pool. Tokens are used only while they are valid (within
 * the quota's window they were taken in).
 *
 * <p>When the shared bucket cannot be reached, the limiter sends at {@code rate / expected-replicas} from a local
 * bucket (it never stops delivering), tells the quota ({@link SharedQuota#fallback}), and tries the shared bucket
 * again every {@link #RETRY_SHARED} while there is mail to send. The back-pressure factor after throttling replies
 * scales the fallback bucket only; the shared rate is the provider's quota and is not raised by it.
 */
final class SharedRateLimiter implements Limiter {
    private static final Logger LOG = LoggerFactory.getLogger(SharedRateLimiter.class);
    /** How often a limiter on its fallback share tries the shared bucket again. */
    static final long RETRY_SHARED = TimeUnit.SECONDS.toNanos(5);
    /** The answer while a refill is under way (the refill's end wakes the pool sooner). */
    static final long PENDING = TimeUnit.MILLISECONDS.toNanos(50);
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    private static final long DAY = TimeUnit.DAYS.toNanos(1);

    private final String upstream;
    private final UpstreamTarget.Rate rate;
    private final SharedQuota quota;
    private final Executor executor;
    private final LongSupplier nanoTime;
    private final Runnable wake;
    private final RateLimiter fallback;
    private final long batch;
    // guarded by this: the event loop asks, the refill thread answers
    private long reservoir;
    private long validUntil;
    private long sharedWaitUntil;
    private boolean refilling;
    private boolean onFallback;
    private long retrySharedAt;
    private long roundTrips;

    /**
     * @param wake called (on the refill thread) when a refill ended: the pool dispatches again on its event loop
     */
    SharedRateLimiter(String upstream, UpstreamTarget.Rate rate, SharedQuota quota, Executor executor,
                      LongSupplier nanoTime, Runnable wake) {
        this.upstream = upstream;
        this.rate = rate;
        this.batch = batch(rate);
        this.quota = quota;
        int replicas = Math.max(1, quota.expectedReplicas());
        this.fallback = new RateLimiter(new UpstreamTarget.Rate(rate.perSecond() / replicas,
                rate.perDay() == 0 ? 0 : Math.max(1, rate.perDay() / replicas)), nanoTime.getAsLong());
        this.executor = executor;
        this.nanoTime = nanoTime;
        this.wake = wake;
    }

    /** Tokens taken at once: a quarter of a second's rate (at least 1), never more than the daily quota. */
    static long batch(UpstreamTarget.Rate rate) {
        long n = rate.perSecond() > 0 ? Math.max(1, (long) Math.ceil(rate.perSecond() / 4)) : 10;
        return rate.perDay() > 0 ? Math.min(n, rate.perDay()) : n;
    }

    @Override
    public synchronized long tryAcquire(long now, double factor) {
        if (onFallback) {
            if (now - retrySharedAt >= 0 && !refilling) {
                retrySharedAt = now + RETRY_SHARED;
                refill();
            }
            return fallback.tryAcquire(now, factor);
        }
        if (reservoir > 0 && now - validUntil < 0) {
            reservoir--;
            return 0;
        }
        reservoir = 0;
        if (refilling) {
            return PENDING;
        }
        if (now - sharedWaitUntil < 0) {
            return sharedWaitUntil - now;
        }
        refill();
        return PENDING;
    }

    @Override
    public synchronized long untilGrant(long now, double factor, long k) {
        if (onFallback) {
            return fallback.untilGrant(now, factor, k);
        }
        long spacing = rate.perSecond() > 0 ? (long) (SECOND / rate.perSecond()) : DAY / Math.max(1, rate.perDay());
        return Math.max(0, sharedWaitUntil - now) + (k - 1) * spacing;
    }

    /** Database round trips made so far. For tests and the docs' arithmetic. */
    synchronized long roundTrips() {
        return roundTrips;
    }

    synchronized boolean onFallback() {
        return onFallback;
    }

    private void refill() { // holding the lock
        refilling = true;
        roundTrips++;
        try {
            executor.execute(this::takeFromShared);
        } catch (RuntimeException e) { // the executor refused: behave as if the database were unreachable
            refilled(null, e);
        }
    }

    private void takeFromShared() {
        SharedQuota.Grant grant = null;
        Exception failure = null;
        try {
            grant = quota.take(upstream, rate, batch);
        } catch (Exception e) {
            failure = e;
        }
        refilled(grant, failure);
        try {
            wake.run();
        } catch (RuntimeException e) { // the pool's event loop is gone (the engine was closed): nobody waits
            LOG.debug("upstream {}: nothing to wake after the refill", upstream, e);
        }
    }

    private void refilled(SharedQuota.Grant grant, Exception failure) {
        boolean changed;
        synchronized (this) {
            long now = nanoTime.getAsLong();
            refilling = false;
            boolean wasFallback = onFallback;
            if (grant == null) {
                onFallback = true;
                retrySharedAt = now + RETRY_SHARED;
            } else {
                onFallback = false;
                reservoir = grant.tokens();
                validUntil = now + grant.nanosValid();
                sharedWaitUntil = grant.tokens() > 0 ? now : now + grant.nanosToWait();
            }
            changed = wasFallback != onFallback;
        }
        if (changed) {
            if (grant == null) {
                LOG.warn("upstream {}: the shared rate limit cannot be reached ({}); sending at this replica's share "
                        + "of the rate (per-second {}, per-day {} over {} replicas) until it can", upstream, failure,
                        rate.perSecond(), rate.perDay(), Math.max(1, quota.expectedReplicas()));
            } else {
                LOG.warn("upstream {}: the shared rate limit is reachable again; sending within it", upstream);
            }
            notifyQuota(grant == null);
        }
    }

    private void notifyQuota(boolean on) {
        try {
            quota.fallback(upstream, on);
        } catch (RuntimeException e) {
            LOG.warn("upstream {}: the fallback listener failed", upstream, e);
        }
    }
}
