package dev.relay.core.routing;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * One upstream's circuit breaker, a pure state machine driven by the caller's clock readings:
 * CLOSED counts consecutive failed attempts (a streak older than {@code window} starts again); at
 * {@code failures} it opens. OPEN refuses every attempt until {@code coolDown} has passed, then turns HALF-OPEN
 * and lets exactly one probe through; the probe's success closes it, its failure opens it again for another
 * cool-down. Thread-safe.
 */
final class CircuitBreaker {

    /**
     * @param failures consecutive failed attempts that open the circuit, at least 1
     * @param window   the failures must fall within this time of the first one
     * @param coolDown how long an open circuit skips the upstream before a probe
     */
    record Policy(int failures, Duration window, Duration coolDown) {
        /** 5 failures within 1 minute open the circuit for 30 seconds. */
        static final Policy DEFAULT = new Policy(5, Duration.ofMinutes(1), Duration.ofSeconds(30));

        Policy {
            if (failures < 1) {
                throw new IllegalArgumentException("failures must be at least 1");
            }
            Objects.requireNonNull(window, "window");
            Objects.requireNonNull(coolDown, "coolDown");
        }
    }

    private final Policy policy;
    private CircuitState state = CircuitState.CLOSED;
    private int streak;
    private Instant streakStart;
    private Instant openedAt;
    private boolean probeInFlight;

    CircuitBreaker(Policy policy) {
        this.policy = Objects.requireNonNull(policy, "policy");
    }

    /**
     * May an attempt go to the upstream now? In HALF-OPEN (or OPEN past its cool-down) the first caller gets the
     * probe, every other caller is refused until the probe has reported.
     */
    synchronized boolean tryAcquire(Instant now) {
        switch (state) {
            case CLOSED -> {
                return true;
            }
            case OPEN -> {
                if (now.isBefore(openedAt.plus(policy.coolDown()))) {
                    return false;
                }
                state = CircuitState.HALF_OPEN;
                probeInFlight = true;
                return true;
            }
            case HALF_OPEN -> {
                if (probeInFlight) {
                    return false;
                }
                probeInFlight = true;
                return true;
            }
            default -> throw new AssertionError(state);
        }
    }

    /**
     * An admitted attempt was not made after all (the upstream's rate limit, or its engine closed): a probe it held
     * goes back, so that the next caller takes it. Returns whether a probe went back.
     */
    synchronized boolean giveBack() {
        if (state == CircuitState.HALF_OPEN && probeInFlight) {
            probeInFlight = false;
            return true;
        }
        return false;
    }

    /** The upstream took the attempt (it answered; some or all recipients may still have been refused). */
    synchronized void onSuccess() {
        state = CircuitState.CLOSED;
        streak = 0;
        streakStart = null;
        probeInFlight = false;
    }

    /** The attempt failed as a whole: no connection, TLS failure, timeout, or a 4xx for every recipient. */
    synchronized void onFailure(Instant now) {
        switch (state) {
            case CLOSED -> {
                if (streakStart == null || now.isAfter(streakStart.plus(policy.window()))) {
                    streak = 0;
                    streakStart = now;
                }
                streak++;
                if (streak >= policy.failures()) {
                    open(now);
                }
            }
            case HALF_OPEN -> open(now);
            case OPEN -> { } // an attempt admitted before the circuit opened: already counted as open
            default -> throw new AssertionError(state);
        }
    }

    private void open(Instant now) {
        state = CircuitState.OPEN;
        openedAt = now;
        streak = 0;
        streakStart = null;
        probeInFlight = false;
    }

    /**
     * When an attempt may next go, without taking it: {@link Instant#MIN} when closed; when open, the end of the
     * cool-down (the probe may go from then on); {@link Instant#MAX} while the probe is in flight.
     */
    synchronized Instant availableAt() {
        return switch (state) {
            case CLOSED -> Instant.MIN;
            case OPEN -> openedAt.plus(policy.coolDown());
            case HALF_OPEN -> probeInFlight ? Instant.MAX : Instant.MIN;
        };
    }

    /**
     * An operator's retry: an open circuit ends its cool-down now, so that the next attempt is the probe. Returns
     * whether it was open.
     */
    synchronized boolean probeNow(Instant now) {
        if (state != CircuitState.OPEN) {
            return false;
        }
        Instant ready = now.minus(policy.coolDown());
        if (openedAt.isAfter(ready)) {
            openedAt = ready;
        }
        return true;
    }

    /** The state as last changed by an attempt (OPEN stays OPEN until an attempt takes the probe). */
    synchronized CircuitState state() {
        return state;
    }
}
