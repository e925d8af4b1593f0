package dev.relay.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.TlsMode;
import dev.relay.config.UpstreamAuth;
import dev.relay.config.UpstreamConfig;
import dev.relay.config.UpstreamUrl;
import dev.relay.core.delivery.UpstreamTarget;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class UpstreamTargetMappingTest {
    @Test
    void everyDeliveryKeyReachesTheEngine() {
        UpstreamConfig.OAuth2 oauth2 = new UpstreamConfig.OAuth2(URI.create("https://login.example.com/token"),
                "app", "secret", "https://outlook.office365.com/.default", null);
        UpstreamConfig u = new UpstreamConfig("m365", UpstreamUrl.parse("smtp://smtp.office365.com:587"),
                "relay@example.com", null, TlsMode.STARTTLS, null, UpstreamAuth.XOAUTH2, oauth2, 4, 50,
                Duration.ofSeconds(20), new UpstreamConfig.Timeouts(Duration.ofSeconds(10), null, null, null,
                Duration.ofMinutes(2)), new UpstreamConfig.Rate(0.5, 1000));

        UpstreamTarget t = dev.relay.server.setup.UpstreamTargets.of(u);

        assertThat(t.pool()).isEqualTo(new UpstreamTarget.Pool(4, 50, Duration.ofSeconds(20)));
        assertThat(t.rate()).isEqualTo(new UpstreamTarget.Rate(0.5, 1000));
        assertThat(t.timeouts()).isEqualTo(new UpstreamTarget.Timeouts(Duration.ofSeconds(10),
                Duration.ofMinutes(5), Duration.ofMinutes(5), Duration.ofMinutes(3), Duration.ofMinutes(2)));
        assertThat(t.auth()).isEqualTo(UpstreamAuth.XOAUTH2);
        assertThat(t.oauth2()).isEqualTo(new UpstreamTarget.OAuth2(URI.create("https://login.example.com/token"),
                "app", "secret", "https://outlook.office365.com/.default", null));
        assertThat(t.toString()).doesNotContain("secret");
    }

    @Test
    void theUsersAccountRepliesComeBeforeThePresetsAndTheGenericOnes() {
        UpstreamConfig plain = new UpstreamConfig("ses", UpstreamUrl.parse("smtp://email-smtp.eu-west-1.amazonaws.com"),
                "AKIA", "pw", TlsMode.STARTTLS, null, UpstreamAuth.AUTO, null, 1, 1, null, null, null,
                dev.relay.config.ProviderPreset.SES, "eu-west-1", java.util.List.of(),
                java.util.List.of(new UpstreamConfig.AccountReply("^554 Message rejected", "defer", "mine", null,
                        Duration.ofMinutes(30))));

        dev.relay.core.delivery.AccountReplies replies = dev.relay.server.setup.UpstreamTargets.of(plain)
                .accountReplies();

        assertThat(replies.classify(dev.relay.core.delivery.AccountReplies.Phase.DATA,
                "554 Message rejected: Email address is not verified").reason()).isEqualTo("mine");
        assertThat(replies.classify(dev.relay.core.delivery.AccountReplies.Phase.MAIL,
                "454 Throttling failure: Daily message quota exceeded").reason()).isEqualTo("daily_quota");
        assertThat(replies.classify(dev.relay.core.delivery.AccountReplies.Phase.MAIL,
                "550 5.4.5 Daily user sending limit exceeded.").reason())
                .as("a Gmail row is not an SES upstream's; the generic quota row is").isEqualTo("quota");
    }
}
