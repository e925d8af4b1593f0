package dev.relay.core.delivery;

import java.time.Duration;

/**
 * How hard an upstream that answered with a throttling reply ({@code 421}, {@code 451 4.7.x},
 * {@code 454 Throttling failure}) may be pushed: each throttling reply halves the allowed concurrency and the
 * per-second rate and pauses new transactions briefly (1 s, 2 s, 4 s ... at most a minute); every
 * {@code cooldown} without one undoes one halving. Pure: the caller passes the time. Not thread-safe.
 */
final class Backpressure {
    static final int MAX_LEVEL = 6;

    private final long basePause;
    private final long maxPause;
    private final long cooldown;
    private int level;
    private long lastChange;
    private long pauseUntil;
    private boolean paused;

    Backpressure() {
        this(Duration.ofSeconds(1), Duration.ofMinutes(1), Duration.ofMinutes(1));
    }

    Backpressure(Duration basePause, Duration maxPause, Duration cooldown) {
        this.basePause = basePause.toNanos();
        this.maxPause = maxPause.toNanos();
        this.cooldown = cooldown.toNanos();
    }

    /** The upstream throttled us at {@code now}. */
    void throttled(long now) {
        decay(now);
        level = Math.min(MAX_LEVEL, level + 1);
        lastChange = now;
        pauseUntil = now + Math.min(maxPause, basePause << (level - 1));
        paused = true;
    }

    /** Connections allowed at once out of {@code max}: halved per level, at least one. */
    int concurrency(int max, long now) {
        decay(now);
        return Math.max(1, max >> level);
    }

    /** The factor on the per-second rate: 1, 1/2, 1/4 ... */
    double rateFactor(long now) {
        decay(now);
        return 1.0 / (1 << level);
    }

    /** Nanoseconds until new transactions may start again, 0 if they may now. */
    long pause(long now) {
        if (!paused) {
            return 0;
        }
        long left = pauseUntil - now;
        if (left <= 0) {
            paused = false;
            return 0;
        }
        return left;
    }

    int level(long now) {
        decay(now);
        return level;
    }

    private void decay(long now) {
        while (level > 0 && now - lastChange >= cooldown) {
            level--;
            lastChange += cooldown;
        }
    }
}
