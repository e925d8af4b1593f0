package dev.relay.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.ConfigLoader;
import dev.relay.config.RelayConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReloadPlanTest {
    private static final List<String> RUNNING_UPSTREAMS = List.of("primary", "backup");

    @TempDir
    Path dir;

    /** A loopback relay with two upstreams; {@code extra} is appended at the top level. */
    private RelayConfig config(String listen, String extra) throws Exception {
        Path file = Files.writeString(dir.resolve("relay-" + System.nanoTime() + ".yaml"), """
                hostname: relay.test
                listeners:
                  - { name: local, bind: "%s", tls: none }
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s" }
                upstreams:
                  - { name: primary, url: "smtp://127.0.0.1:2600", tls: none }
                  - { name: backup, url: "smtp://127.0.0.1:2601", tls: none }
                %s
                """.formatted(listen, dir.resolve("spool"), extra));
        return ConfigLoader.load(file, Map.of()).config();
    }

    private RelayConfig config(String extra) throws Exception {
        return config("127.0.0.1:2700", extra);
    }

    @Test
    void theSameConfigurationChangesNothing() throws Exception {
        ReloadPlan plan = ReloadPlan.between(config(""), config(""), RUNNING_UPSTREAMS);
        assertThat(plan.appliesNothing()).isTrue();
        assertThat(plan.needsRestart()).isEmpty();
    }

    @Test
    void newLimitsApplyLiveExceptThoseThatSizeTheListeners() throws Exception {
        RelayConfig running = config("limits: { max-message-size: 1KiB, max-connections: 10, max-connections-per-client: 5 }");
        RelayConfig next = config("limits: { max-message-size: 1MiB, max-connections: 20, max-recipients: 7 }");

        ReloadPlan plan = ReloadPlan.between(running, next, RUNNING_UPSTREAMS);

        assertThat(plan.limits().maxMessageSize()).isEqualTo(1L << 20);
        assertThat(plan.limits().maxRecipients()).isEqualTo(7);
        assertThat(plan.limits().maxConnections()).as("kept until a restart").isEqualTo(10);
        assertThat(plan.routes()).isNull();
        assertThat(plan.needsRestart()).containsExactly("limits.max-connections");
        assertThat(plan.applyTo(running).limits()).isEqualTo(plan.limits());
    }

    @Test
    void aChangeOfTheIdleTimeoutAloneAppliesNothingAndNeedsARestart() throws Exception {
        ReloadPlan plan = ReloadPlan.between(config(""), config("limits: { idle-timeout: 1m }"), RUNNING_UPSTREAMS);
        assertThat(plan.appliesNothing()).isTrue();
        assertThat(plan.needsRestart()).containsExactly("limits.idle-timeout");
    }

    @Test
    void newRoutesOverRunningUpstreamsApplyLive() throws Exception {
        RelayConfig running = config("");
        RelayConfig next = config("""
                routes:
                  - { name: via-backup, senders: ["@example.com"], upstreams: [backup, primary] }
                """);

        ReloadPlan plan = ReloadPlan.between(running, next, RUNNING_UPSTREAMS);

        assertThat(plan.routes()).extracting(r -> r.name()).containsExactly("via-backup");
        assertThat(plan.limits()).isNull();
        assertThat(plan.needsRestart()).isEmpty();
        assertThat(plan.applied()).isEqualTo("routes (1)");
        assertThat(plan.applyTo(running).routes()).isEqualTo(next.routes());
    }

    @Test
    void routesThroughAnUpstreamThatIsNotRunningWaitForTheRestartLikeTheUpstream() throws Exception {
        Path next = Files.writeString(dir.resolve("next.yaml"), """
                hostname: relay.test
                listeners:
                  - { name: local, bind: "127.0.0.1:2700", tls: none }
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s" }
                upstreams:
                  - { name: primary, url: "smtp://127.0.0.1:2600", tls: none }
                  - { name: backup, url: "smtp://127.0.0.1:2601", tls: none }
                  - { name: third, url: "smtp://127.0.0.1:2602", tls: none }
                routes:
                  - { name: via-third, senders: ["*"], upstreams: [third] }
                """.formatted(dir.resolve("spool")));

        ReloadPlan plan = ReloadPlan.between(config(""), ConfigLoader.load(next, Map.of()).config(),
                RUNNING_UPSTREAMS);

        assertThat(plan.routes()).isNull();
        assertThat(plan.needsRestart()).containsExactly("upstreams",
                "routes (they name upstreams that are not running)");
    }

    @Test
    void listenerSpoolAndAdminChangesAreNamedAsNeedingARestart() throws Exception {
        RelayConfig running = config("");
        RelayConfig next = config("127.0.0.1:2701", """
                admin: { bind: "127.0.0.1:9191" }
                queue: { max-backoff: 2h }
                limits: { max-recipients: 3 }
                """);

        ReloadPlan plan = ReloadPlan.between(running, next, RUNNING_UPSTREAMS);

        assertThat(plan.needsRestart()).containsExactly("listeners", "queue", "admin");
        assertThat(plan.limits().maxRecipients()).as("what can apply still does").isEqualTo(3);
    }
}
