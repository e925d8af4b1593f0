package dev.relay.core.routing;

/**
 * Told about every circuit breaker state change, e.g. to keep a metrics gauge; also told the initial CLOSED state
 * of every upstream when the routing engine starts. Implementations are fast and never throw.
 */
public interface CircuitListener {
    CircuitListener NONE = (upstream, state) -> { };

    void stateChanged(String upstream, CircuitState state);
}
