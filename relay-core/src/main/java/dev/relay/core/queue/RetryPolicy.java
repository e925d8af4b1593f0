package dev.relay.core.queue;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.function.DoubleSupplier;

/**
 * When to try a message again after a transient failure: a pure function of the message's receipt time, the number
 * of attempts made and the current time (Postfix's backoff, KumoMTA's table-tested retry).
 *
 * <p>The delay before attempt {@code n+1} is {@code minBackoff * 2^(n-1)}, stretched by a jitter of up to half of
 * itself so that messages deferred together do not come back together, and never more than {@code maxBackoff}. A
 * message is retried until {@code maxLifetime} after its receipt: the last retry is scheduled at that moment, and a
 * transient failure at or after it expires the message (its recipients fail permanently).
 *
 * @param minBackoff  the delay after the first failed attempt
 * @param maxBackoff  the longest delay
 * @param maxLifetime how long after receipt a message is retried
 * @param jitter      a source of numbers in [0, 1): random in production, fixed in tests
 */
public record RetryPolicy(Duration minBackoff, Duration maxBackoff, Duration maxLifetime, DoubleSupplier jitter) {
    public static final Duration DEFAULT_MIN_BACKOFF = Duration.ofMinutes(1);
    public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofHours(1);
    public static final Duration DEFAULT_MAX_LIFETIME = Duration.ofDays(5);

    public RetryPolicy {
        Objects.requireNonNull(jitter, "jitter");
        if (minBackoff.isNegative() || minBackoff.isZero()) {
            throw new IllegalArgumentException("minBackoff must be positive");
        }
        if (maxBackoff.compareTo(minBackoff) < 0) {
            throw new IllegalArgumentException("maxBackoff must be at least minBackoff");
        }
        if (maxLifetime.isNegative() || maxLifetime.isZero()) {
            throw new IllegalArgumentException("maxLifetime must be positive");
        }
    }

    /** Exponential backoff with random jitter. */
    public static RetryPolicy of(Duration minBackoff, Duration maxBackoff, Duration maxLifetime) {
        return new RetryPolicy(minBackoff, maxBackoff, maxLifetime,
                () -> java.util.concurrent.ThreadLocalRandom.current().nextDouble());
    }

    /** A fixed delay (no growth, no jitter) and the default lifetime: the behaviour of the old retry delay. */
    public static RetryPolicy fixed(Duration delay) {
        return new RetryPolicy(delay, delay, DEFAULT_MAX_LIFETIME, () -> 0.0);
    }

    /** This policy with another lifetime (the backoff and the jitter stay). */
    public RetryPolicy withMaxLifetime(Duration lifetime) {
        return lifetime.equals(maxLifetime) ? this : new RetryPolicy(minBackoff, maxBackoff, lifetime, jitter);
    }

    /** What to do after a transient failure. */
    public sealed interface Decision {
        /** Try again at {@code at}. */
        record Retry(Instant at, Duration delay) implements Decision {}

        /** Stop: the message is {@code age} old, at least the maximum lifetime. */
        record Expire(Duration age) implements Decision {}
    }

    /**
     * @param receivedAt   when the message was acknowledged
     * @param failedAttempts attempts made so far, including the one that just failed (at least 1)
     * @param now          the time of the failure
     */
    public Decision afterTransientFailure(Instant receivedAt, int failedAttempts, Instant now) {
        if (failedAttempts < 1) {
            throw new IllegalArgumentException("failedAttempts must be at least 1");
        }
        Duration age = Duration.between(receivedAt, now);
        if (age.compareTo(maxLifetime) >= 0) {
            return new Decision.Expire(age);
        }
        Duration delay = backoff(failedAttempts);
        Instant at = now.plus(delay);
        Instant expiry = receivedAt.plus(maxLifetime);
        if (at.isAfter(expiry)) { // one last attempt when the lifetime ends, not a backoff later
            at = expiry;
            delay = Duration.between(now, expiry);
        }
        return new Decision.Retry(at, delay);
    }

    /** The delay after {@code failedAttempts} failures: min * 2^(n-1) * (1 + jitter/2), capped at max. */
    Duration backoff(int failedAttempts) {
        long minMs = minBackoff.toMillis();
        long maxMs = maxBackoff.toMillis();
        int doublings = Math.min(failedAttempts - 1, 62);
        double base = minMs * Math.pow(2, doublings);
        double j = jitter.getAsDouble();
        if (!(j >= 0.0 && j < 1.0)) { // NaN or out of range: no jitter rather than a wild delay
            j = 0.0;
        }
        double ms = Math.min(base * (1.0 + j / 2.0), maxMs);
        return Duration.ofMillis(Math.max(minMs, (long) ms));
    }
}
