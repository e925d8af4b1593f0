package dev.relay.core.delivery;

import java.util.concurrent.TimeUnit;

/**
 * Token buckets for one upstream's message rate: one per second (capacity: one second's worth, at least one
 * message) and one per day (capacity: a day's worth). A message takes a token from each. Pure: the caller passes
 * the time, so tests need no clock and no sleep. Not thread-safe (used on the pool's event loop only).
 */
final class RateLimiter implements Limiter {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    private static final long DAY = TimeUnit.DAYS.toNanos(1);

    private final Bucket perSecond;
    private final Bucket perDay;

    RateLimiter(UpstreamTarget.Rate rate, long now) {
        perSecond = rate.perSecond() > 0 ? new Bucket(Math.max(1, rate.perSecond()), rate.perSecond() / SECOND, now)
                : null;
        perDay = rate.perDay() > 0 ? new Bucket(rate.perDay(), (double) rate.perDay() / DAY, now) : null;
    }

    /** Takes a token from both buckets if both have one. */
    @Override
    public long tryAcquire(long now, double factor) {
        long wait = 0;
        if (perSecond != null) {
            wait = Math.max(wait, perSecond.waitFor(now, factor));
        }
        if (perDay != null) {
            wait = Math.max(wait, perDay.waitFor(now, 1));
        }
        if (wait > 0) {
            return wait;
        }
        if (perSecond != null) {
            perSecond.tokens -= 1;
        }
        if (perDay != null) {
            perDay.tokens -= 1;
        }
        return 0;
    }

    @Override
    public long untilGrant(long now, double factor, long k) {
        long wait = 0;
        if (perSecond != null) {
            wait = Math.max(wait, perSecond.until(now, factor, k));
        }
        if (perDay != null) {
            wait = Math.max(wait, perDay.until(now, 1, k));
        }
        return wait;
    }

    private static final class Bucket {
        private final double capacity;
        private final double perNano;
        private double tokens;
        private long last;

        Bucket(double capacity, double perNano, long now) {
            this.capacity = capacity;
            this.perNano = perNano;
            this.tokens = capacity;
            this.last = now;
        }

        /** Refills up to now, then the nanoseconds until the k-th token from now is granted (0 if it is there). */
        long until(long now, double factor, long k) {
            waitFor(now, factor);
            double missing = k - tokens;
            return missing <= 0 ? 0 : Math.max(1, (long) Math.ceil(missing / (perNano * factor)));
        }

        /** Refills up to now, then the nanoseconds until one token is there (0 if it is). */
        long waitFor(long now, double factor) {
            double rate = perNano * factor;
            if (now > last) {
                tokens = Math.min(capacity, tokens + (now - last) * rate);
                last = now;
            }
            if (tokens >= 1) {
                return 0;
            }
            return Math.max(1, (long) Math.ceil((1 - tokens) / rate));
        }
    }
}
