package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** queue.account-problem-lifetime and upstreams[].account-replies. */
class AccountRepliesConfigTest {
    private static final String BASE = """
            listeners:
              - { name: submission, bind: "0.0.0.0:587" }
            tls: { cert: /etc/relay/tls.crt, key: /etc/relay/tls.key }
            auth: { users-file: /etc/relay/users }
            spool: { dir: /var/spool/relay }
            """;

    @TempDir
    Path dir;

    private RelayConfig load(String yaml) {
        return ConfigLoader.load(Fixtures.write(dir, BASE + yaml), Map.of()).config();
    }

    private List<ConfigProblem> problems(String yaml) {
        return catchThrowableOfType(ConfigException.class,
                () -> ConfigLoader.load(Fixtures.write(dir, BASE + yaml), Map.of())).problems();
    }

    private static String upstream(String replies) {
        return "upstreams:\n  - name: primary\n    url: \"smtp://smtp.example.com\"\n    account-replies:\n" + replies;
    }

    @Test
    void accountProblemLifetimeDefaultsToTheMessageLifetimeAndCanBeSet() {
        assertThat(load(upstream("      []\n") + "queue: { max-lifetime: 2d }\n").queue().accountProblemLifetime())
                .isEqualTo(Duration.ofDays(2));
        assertThat(load(upstream("      []\n") + "queue: { account-problem-lifetime: 10d }\n").queue()
                .accountProblemLifetime()).isEqualTo(Duration.ofDays(10));
    }

    @Test
    void accountProblemLifetimeComesFromTheEnvironmentToo() {
        RelayConfig c = ConfigLoader.load(Fixtures.write(dir, BASE + upstream("      []\n")),
                Map.of("RELAY_QUEUE_ACCOUNT_PROBLEM_LIFETIME", "7d")).config();
        assertThat(c.queue().accountProblemLifetime()).isEqualTo(Duration.ofDays(7));
    }

    @Test
    void accountProblemLifetimeMustBePositive() {
        assertThat(problems(upstream("      []\n") + "queue: { account-problem-lifetime: 0s }\n")).singleElement()
                .satisfies(p -> assertThat(p.key()).isEqualTo("queue.account-problem-lifetime"));
    }

    @Test
    void rowsAreReadInOrderWithTheirDefaults() {
        UpstreamConfig u = load(upstream("""
                      - { pattern: "^550 5\\\\.7\\\\.30", action: account-problem, reason: basic_auth, fix: "use xoauth2" }
                      - { pattern: "quota", action: defer, defer-for: 6h }
                """)).upstreams().get(0);
        assertThat(u.accountReplies()).containsExactly(
                new UpstreamConfig.AccountReply("^550 5\\.7\\.30", "account-problem", "basic_auth", "use xoauth2", null),
                new UpstreamConfig.AccountReply("quota", "defer", "configured", null, Duration.ofHours(6)));
    }

    @Test
    void aBadRegexIsAnErrorNamingItsKey() {
        assertThat(problems(upstream("      - { pattern: \"^550 (5.7\", action: defer }\n"))).singleElement()
                .satisfies(p -> {
                    assertThat(p.key()).isEqualTo("upstreams[0].account-replies[0].pattern");
                    assertThat(p.message()).contains("not a valid regular expression");
                });
    }

    @Test
    void anUnknownActionAndAMissingPatternAreErrors() {
        assertThat(problems(upstream("      - { pattern: \"x\", action: bounce }\n      - { action: defer }\n")))
                .extracting(ConfigProblem::key)
                .containsExactlyInAnyOrder("upstreams[0].account-replies[0].action",
                        "upstreams[0].account-replies[1].pattern");
    }

    @Test
    void aReasonIsAMetricLabel() {
        assertThat(problems(upstream("      - { pattern: \"x\", action: defer, reason: \"no spaces\" }\n")))
                .singleElement()
                .satisfies(p -> assertThat(p.key()).isEqualTo("upstreams[0].account-replies[0].reason"));
    }
}
