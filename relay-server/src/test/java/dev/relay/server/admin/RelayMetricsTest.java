package dev.relay.server.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

class RelayMetricsTest {
    @Test
    void deliveryEventsAreCountedPerUpstream() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        RelayMetrics metrics = new RelayMetrics(registry);

        metrics.connectionOpened("ses");
        metrics.connectionReused("ses");
        metrics.connectionReused("ses");
        metrics.connectionReused("m365");
        metrics.rateLimited("ses");
        metrics.throttled("ses", "454 Throttling failure");

        assertThat(count(registry, "relay.upstream.connections.opened", "ses")).isEqualTo(1);
        assertThat(count(registry, "relay.upstream.connections.reused", "ses")).isEqualTo(2);
        assertThat(count(registry, "relay.upstream.connections.reused", "m365")).isEqualTo(1);
        assertThat(count(registry, "relay.upstream.rate.limited", "ses")).isEqualTo(1);
        assertThat(count(registry, "relay.upstream.throttled", "ses")).isEqualTo(1);
    }

    private static double count(SimpleMeterRegistry registry, String name, String upstream) {
        return registry.get(name).tag("upstream", upstream).counter().count();
    }
}
