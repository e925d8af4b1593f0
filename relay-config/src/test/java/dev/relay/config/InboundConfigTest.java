package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InboundConfigTest {
    @TempDir
    Path dir;

    @Test
    void limitsAndPoliciesDefaultSafely() throws Exception {
        RelayConfig c = ConfigLoader.load(Fixtures.write(dir, Fixtures.MINIMAL), Map.of()).config();
        assertThat(c.limits()).isEqualTo(LimitsConfig.defaults());
        assertThat(c.limits().maxMessageSize()).isEqualTo(25L << 20);
        assertThat(c.limits().idleTimeout()).isEqualTo(Duration.ofMinutes(5));
        assertThat(c.auth().policies()).isEmpty();
        assertThat(c.auth().trustedSenders()).containsExactly("*");
        assertThat(c.limits().dataTimeout()).isEqualTo(Duration.ofMinutes(10));
        assertThat(c.limits().maxCommandsBeforeMail()).isEqualTo(50);
        assertThat(c.limits().userMessagesPerMinute()).isZero();
        assertThat(c.limits().userRecipientsPerDay()).isZero();
    }

    @Test
    void abuseLimitsAreReadPrintedBackAndValidated() throws Exception {
        String yaml = Fixtures.MINIMAL + "limits: { data-timeout: 2m, max-commands-before-mail: 20, "
                + "user-messages-per-minute: 30 }\n";
        RelayConfig c = ConfigLoader.load(Fixtures.write(dir, yaml),
                Map.of("RELAY_LIMITS_USER_RECIPIENTS_PER_DAY", "5000")).config();
        assertThat(c.limits().dataTimeout()).isEqualTo(Duration.ofMinutes(2));
        assertThat(c.limits().maxCommandsBeforeMail()).isEqualTo(20);
        assertThat(c.limits().userMessagesPerMinute()).isEqualTo(30);
        assertThat(c.limits().userRecipientsPerDay()).isEqualTo(5000);
        assertThat(ConfigLoader.load(Fixtures.write(dir, c.toMaskedYaml()), Map.of()).config().limits())
                .isEqualTo(c.limits());
        String bad = Fixtures.MINIMAL + "limits: { data-timeout: 0s, max-commands-before-mail: 0, "
                + "user-messages-per-minute: -1, user-recipients-per-day: -2 }\n";
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> ConfigLoader.load(Fixtures.write(dir, bad), Map.of()));
        assertThat(e.problems()).extracting(ConfigProblem::key).containsExactlyInAnyOrder("limits.data-timeout",
                "limits.max-commands-before-mail", "limits.user-messages-per-minute", "limits.user-recipients-per-day");
    }

    @Test
    void limitsAndPoliciesAreReadFromTheFileAndTheEnvironmentAndPrintBack() throws Exception {
        String yaml = Fixtures.MINIMAL.replace("auth: { users-file: /etc/relay/users }", """
                auth:
                  users-file: /etc/relay/users
                  trusted-senders: "@example.com, ops@example.org"
                  policies:
                    - { user: app, senders: ["@example.com"], recipient-domains: [example.com],
                        check-header-from: true }
                    - { user: "*", senders: ["noreply@example.com"] }
                limits: { max-message-size: 10MiB, max-recipients: 50, auth-lockout: 5m }
                """);
        RelayConfig c = ConfigLoader.load(Fixtures.write(dir, yaml),
                Map.of("RELAY_LIMITS_MAX_CONNECTIONS_PER_CLIENT", "7", "RELAY_AUTH_POLICIES_0_SENDERS", "a@example.com"))
                .config();
        assertThat(c.limits().maxMessageSize()).isEqualTo(10L << 20);
        assertThat(c.limits().maxRecipients()).isEqualTo(50);
        assertThat(c.limits().maxConnectionsPerClient()).isEqualTo(7);
        assertThat(c.limits().authLockout()).isEqualTo(Duration.ofMinutes(5));
        assertThat(c.limits().authMaxFailures()).isEqualTo(5);
        assertThat(c.auth().trustedSenders()).containsExactly("@example.com", "ops@example.org");
        assertThat(c.auth().policies()).containsExactly(
                new UserPolicy("app", List.of("a@example.com"), List.of("example.com"), true),
                new UserPolicy("*", List.of("noreply@example.com"), List.of()));
        RelayConfig again = ConfigLoader.load(Fixtures.write(dir, c.toMaskedYaml()), Map.of()).config();
        assertThat(again.limits()).isEqualTo(c.limits());
        assertThat(again.auth()).isEqualTo(c.auth());
    }

    @Test
    void badPatternsAndLimitsAreProblemsNamingTheKey() throws Exception {
        String yaml = Fixtures.MINIMAL.replace("auth: { users-file: /etc/relay/users }", """
                auth:
                  users-file: /etc/relay/users
                  trusted-senders: ["example.com"]
                  policies:
                    - { user: app, senders: ["*@example.com"], recipient-domains: ["@example.com"] }
                    - { user: app, check-header-from: maybe }
                limits: { max-message-size: 12, max-recipients: 0, max-connections: 5,
                          max-connections-per-client: 6, auth-failure-delay: 2m, max-messages-per-connection: x }
                """);
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> ConfigLoader.load(Fixtures.write(dir, yaml), Map.of()));
        assertThat(e.problems()).extracting(ConfigProblem::key).containsExactlyInAnyOrder(
                "limits.max-messages-per-connection", "auth.trusted-senders[0]", "auth.policies[0].senders[0]",
                "auth.policies[0].recipient-domains[0]", "auth.policies[1].user", "auth.policies[1].check-header-from", "limits.max-message-size",
                "limits.max-recipients", "limits.max-connections-per-client", "limits.auth-failure-delay");
        assertThat(e.problems()).filteredOn(pr -> pr.key().equals("auth.policies[0].senders[0]"))
                .extracting(ConfigProblem::message).first().asString().contains("write @example.com");
    }
}
