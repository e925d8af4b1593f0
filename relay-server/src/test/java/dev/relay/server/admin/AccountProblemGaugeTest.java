package dev.relay.server.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AccountProblemGaugeTest {
    @Test
    void theGaugeIsOneFromTheProblemUntilTheUpstreamDeliversAgain() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        RelayMetrics metrics = new RelayMetrics(registry);
        metrics.accountProblem("m365", "smtp_auth_disabled", "turn SMTP AUTH on");
        metrics.accountProblem("ses", "daily_quota", "wait");

        assertThat(gauge(registry, "m365", "smtp_auth_disabled")).isEqualTo(1.0);
        assertThat(metrics.accountProblems("m365")).isEqualTo(Map.of("smtp_auth_disabled", "turn SMTP AUTH on"));

        metrics.accountRecovered("m365");
        assertThat(gauge(registry, "m365", "smtp_auth_disabled")).isEqualTo(0.0);
        assertThat(metrics.accountProblems("m365")).isEmpty();
        assertThat(gauge(registry, "ses", "daily_quota")).as("another upstream's stays").isEqualTo(1.0);

        metrics.accountRecovered("backup"); // nothing raised: nothing registered
        assertThat(registry.find("relay.upstream.account.problem").tag("upstream", "backup").gauge()).isNull();
    }

    private static double gauge(SimpleMeterRegistry registry, String upstream, String reason) {
        return registry.get("relay.upstream.account.problem").tag("upstream", upstream).tag("reason", reason).gauge()
                .value();
    }
}
