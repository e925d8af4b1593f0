package dev.relay.server.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.core.routing.CircuitState;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

class CircuitGaugeTest {
    @Test
    void eachUpstreamGetsAGaugeThatFollowsItsCircuitState() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        RelayMetrics metrics = new RelayMetrics(registry);
        metrics.stateChanged("primary", CircuitState.CLOSED);
        metrics.stateChanged("backup", CircuitState.CLOSED);
        metrics.stateChanged("primary", CircuitState.OPEN);
        assertThat(registry.get("relay.upstream.circuit.state").tag("upstream", "primary").gauge().value())
                .isEqualTo(2.0);
        assertThat(registry.get("relay.upstream.circuit.state").tag("upstream", "backup").gauge().value())
                .isEqualTo(0.0);
        metrics.stateChanged("primary", CircuitState.HALF_OPEN);
        assertThat(registry.get("relay.upstream.circuit.state").tag("upstream", "primary").gauge().value())
                .isEqualTo(1.0);
        assertThat(registry.get("relay.upstream.circuit.state").gauges()).hasSize(2);
    }
}
