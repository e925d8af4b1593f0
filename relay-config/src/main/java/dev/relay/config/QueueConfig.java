package dev.relay.config;

import java.time.Duration;

/**
 * Retry timing and bounces of the queue.
 *
 * @param minBackoff  the delay before the first retry; doubles at each attempt up to {@code maxBackoff}; positive,
 *                    default 1 minute. The old key {@code queue.retry-delay} is an alias of it.
 * @param maxBackoff  the longest delay between two attempts; at least {@code minBackoff}, default 1 hour
 * @param maxLifetime how long a message is retried after its receipt before it expires and bounces; default 5 days
 * @param bounces     what happens when recipients fail permanently: send a DSN to the sender, or only log it
 * @param failedRetention how long a failed message (dead letter) is kept in failed/ for inspection and requeue;
 *                    default 7 days
 * @param accountProblemLifetime how long a message deferred for a reply about the relay's account at the upstream
 *                    (SMTP AUTH disabled, a used-up quota, an unverified sender: see docs/reliability.md) is retried
 *                    after its receipt before it expires; default {@code maxLifetime}
 * @param delayWarning how long after its receipt a message still undelivered gets its sender one warning (an RFC
 *                    3464 report with {@code Action: delayed}, Postfix's {@code delay_warning_time}); null when off,
 *                    the default. Positive and shorter than {@code maxLifetime}
 */
public record QueueConfig(Duration minBackoff, Duration maxBackoff, Duration maxLifetime, BounceMode bounces,
                          Duration failedRetention, Duration accountProblemLifetime, Duration delayWarning) {
    public static final Duration DEFAULT_RETRY_DELAY = Duration.ofMinutes(1);
    public static final Duration DEFAULT_MIN_BACKOFF = DEFAULT_RETRY_DELAY;
    public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofHours(1);
    public static final Duration DEFAULT_MAX_LIFETIME = Duration.ofDays(5);
    public static final Duration DEFAULT_FAILED_RETENTION = Duration.ofDays(7);
    /** How {@code delay-warning} is written when it is off. */
    public static final String OFF = "off";

    /** What the relay does when recipients fail permanently (5xx or expiry). */
    public enum BounceMode {
        /** Queue an RFC 3464 delivery status notification to the envelope sender. */
        SEND,
        /** Only log and count the failure. */
        LOG;

        public String key() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static BounceMode parse(String value) {
            return Scalars.keyed(values(), BounceMode::key, value, "bounce mode");
        }
    }

    public QueueConfig {
        minBackoff = minBackoff == null ? DEFAULT_MIN_BACKOFF : minBackoff;
        maxBackoff = maxBackoff == null ? (minBackoff.compareTo(DEFAULT_MAX_BACKOFF) > 0 ? minBackoff
                : DEFAULT_MAX_BACKOFF) : maxBackoff;
        maxLifetime = maxLifetime == null ? DEFAULT_MAX_LIFETIME : maxLifetime;
        bounces = bounces == null ? BounceMode.SEND : bounces;
        failedRetention = failedRetention == null ? DEFAULT_FAILED_RETENTION : failedRetention;
        accountProblemLifetime = accountProblemLifetime == null ? maxLifetime : accountProblemLifetime;
    }

    /** Without delay warnings (the signature before {@code delay-warning} existed). */
    public QueueConfig(Duration minBackoff, Duration maxBackoff, Duration maxLifetime, BounceMode bounces,
                       Duration failedRetention, Duration accountProblemLifetime) {
        this(minBackoff, maxBackoff, maxLifetime, bounces, failedRetention, accountProblemLifetime, null);
    }

    /** Without {@code account-problem-lifetime}: it is the message lifetime. */
    public QueueConfig(Duration minBackoff, Duration maxBackoff, Duration maxLifetime, BounceMode bounces,
                       Duration failedRetention) {
        this(minBackoff, maxBackoff, maxLifetime, bounces, failedRetention, null, null);
    }

    /** The previous form: a fixed retry delay, now the minimum backoff; the other values take their defaults. */
    public QueueConfig(Duration retryDelay) {
        this(retryDelay, null, null, null, null);
    }

    /**
     * A {@code delay-warning} value: a duration, or {@code off} for none (null; {@code false} and {@code no} too, as
     * a YAML 1.1 reader may turn an unquoted {@code off} into false).
     */
    public static Duration parseDelayWarning(String text) {
        String t = text.trim().toLowerCase(java.util.Locale.ROOT);
        if (t.equals(OFF) || t.equals("false") || t.equals("no")) {
            return null;
        }
        try {
            return Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + "; or off for no delay warnings");
        }
    }

    /** The old name of {@link #minBackoff()} ({@code queue.retry-delay}). */
    public Duration retryDelay() {
        return minBackoff;
    }

    public static QueueConfig defaults() {
        return new QueueConfig(DEFAULT_MIN_BACKOFF, DEFAULT_MAX_BACKOFF, DEFAULT_MAX_LIFETIME, BounceMode.SEND,
                DEFAULT_FAILED_RETENTION);
    }
}
