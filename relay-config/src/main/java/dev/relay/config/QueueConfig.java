package dev.relay.config;

import java.time.Duration;

/** @param retryDelay the fixed delay before a deferred message is tried again; positive, default 1 minute */
public record QueueConfig(Duration retryDelay) {
    public static final Duration DEFAULT_RETRY_DELAY = Duration.ofMinutes(1);

    public QueueConfig {
        if (retryDelay == null) {
            retryDelay = DEFAULT_RETRY_DELAY;
        }
    }

    public static QueueConfig defaults() {
        return new QueueConfig(DEFAULT_RETRY_DELAY);
    }
}
