package dev.relay.server.receive;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Polls files the relay reloads (users file, certificate and key) every few seconds. Polling the content rather
 * than a WatchService sees Kubernetes secret updates, which swap a symlink in a parent directory.
 */
public final class FileWatch implements AutoCloseable {
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(3);
    private static final Logger log = LoggerFactory.getLogger(FileWatch.class);

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("relay-file-watch").daemon().factory());
    private final Duration interval;

    public FileWatch(Duration interval) {
        this.interval = interval;
    }

    /** Runs {@code check} every interval; an exception is logged and the next round runs anyway. */
    public void watch(String what, Runnable check) {
        timer.scheduleWithFixedDelay(() -> {
            try {
                check.run();
            } catch (RuntimeException e) {
                log.warn("checking {} for changes failed: {}", what, e.toString());
            }
        }, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
