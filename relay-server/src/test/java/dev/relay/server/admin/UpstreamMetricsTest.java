package dev.relay.server.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.model.MailAddress;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UpstreamMetricsTest {
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final UpstreamMetrics metrics = new UpstreamMetrics(registry);

    private double replies(String upstream, String kind, String enhanced) {
        var c = registry.find("relay.upstream.replies").tags("upstream", upstream, "class", kind, "enhanced", enhanced)
                .counter();
        return c == null ? 0 : c.count();
    }

    private double outcomes(String upstream, String outcome) {
        var c = registry.find("relay.upstream.outcomes").tags("upstream", upstream, "outcome", outcome).counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void anAttemptCountsItsOutcomesOnceAndEachRecipientsReplyByClassAndEnhancedClass() {
        Map<MailAddress, Outcome> by = new LinkedHashMap<>();
        by.put(MailAddress.of("a@example.net"), new Outcome.Delivered("250 2.0.0 Ok: queued as 7A1B"));
        by.put(MailAddress.of("b@example.net"), new Outcome.Delivered("250 2.1.5 Ok"));
        by.put(MailAddress.of("c@example.net"), new Outcome.TransientFailure("451 4.7.1 greylisted"));
        by.put(MailAddress.of("d@example.net"), new Outcome.PermanentFailure("550 no such user"));
        metrics.attempted("ses", new DeliveryReport("ses", by), 3_000_000);

        assertThat(outcomes("ses", "delivered")).isEqualTo(1);
        assertThat(outcomes("ses", "deferred")).isEqualTo(1);
        assertThat(outcomes("ses", "failed")).isEqualTo(1);
        assertThat(replies("ses", "2xx", "2.0")).isEqualTo(1);
        assertThat(replies("ses", "2xx", "2.1")).isEqualTo(1);
        assertThat(replies("ses", "4xx", "4.7")).isEqualTo(1);
        assertThat(replies("ses", "5xx", "none")).as("a reply without an enhanced code").isEqualTo(1);
        assertThat(registry.find("relay.upstream.attempt").tag("upstream", "ses").timer().count()).isEqualTo(1);
    }

    @Test
    void aFailureWithoutAReplyIsClassNoneAndAReplyQuotedAfterWhatTheEngineDidCounts() {
        Map<MailAddress, Outcome> by = new LinkedHashMap<>();
        by.put(MailAddress.of("a@example.net"), new Outcome.TransientFailure(
                "cannot connect to 127.0.0.1:2587: Connection refused"));
        by.put(MailAddress.of("b@example.net"), new Outcome.TransientFailure(
                "authentication as relay@example.org to smtp.example.com:587 failed: 535 5.7.139 SMTP AUTH disabled"));
        metrics.attempted("m365", new DeliveryReport("m365", by), 1_000_000);

        assertThat(replies("m365", "none", "none")).isEqualTo(1);
        assertThat(replies("m365", "5xx", "5.7")).isEqualTo(1);
        assertThat(outcomes("m365", "deferred")).as("one attempt, however many recipients").isEqualTo(1);
    }
}
