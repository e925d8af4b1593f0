package dev.relay.config;

/**
 * @param requireUpstream {@code /readyz} is unready while every upstream's circuit breaker is open; default false,
 *                        so a provider outage queues mail instead of turning clients away
 */
public record ReadinessConfig(boolean requireUpstream) {
    public static ReadinessConfig defaults() {
        return new ReadinessConfig(false);
    }
}
