package dev.relay.core.routing;

/** The state of one upstream's circuit breaker; {@link #level} is the value of the metrics gauge. */
public enum CircuitState {
    /** Deliveries go through. */
    CLOSED(0),
    /** The cool-down has passed: one probe delivery goes through, the others skip the upstream. */
    HALF_OPEN(1),
    /** Too many consecutive failures: the upstream is skipped until the cool-down has passed. */
    OPEN(2);

    private final int level;

    CircuitState(int level) {
        this.level = level;
    }

    public int level() {
        return level;
    }

    /** Lower-case with a dash, as in logs: {@code half-open}. */
    public String key() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
