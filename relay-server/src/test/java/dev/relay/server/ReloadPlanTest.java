package dev.relay.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.ConfigLoader;
import dev.relay.config.RelayConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReloadPlanTest {
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
        Files.copy(file, dir.resolve("base.yaml"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return ConfigLoader.load(file, Map.of()).config();
    }

    private RelayConfig config(String extra) throws Exception {
        return config("127.0.0.1:2700", extra);
    }

    @Test
    void theSameConfigurationChangesNothing() throws Exception {
        ReloadPlan plan = ReloadPlan.between(config(""), config(""));
        assertThat(plan.appliesNothing()).isTrue();
        assertThat(plan.needsRestart()).isEmpty();
    }

    @Test
    void aChangedHandoffNeedsARestartAndALiveChangeKeepsIt() throws Exception {
        Path pw = Files.writeString(dir.resolve("handoff-pw"), "x\n");
        String handoff = "handoff: { to: \"smtp://127.0.0.1:2602\", tls: none, user: h, password-file: \"" + pw
                + "\", timeout: %s }\n";
        RelayConfig running = config(handoff.formatted("30s") + "limits: { max-recipients: 5 }");
        ReloadPlan plan = ReloadPlan.between(running, config(handoff.formatted("45s") + "limits: { max-recipients: 7 }"));

        assertThat(plan.needsRestart()).containsExactly("handoff");
        assertThat(plan.applyTo(running).handoff()).isEqualTo(running.handoff());
        assertThat(plan.applyTo(running).limits().maxRecipients()).isEqualTo(7);
    }

    @Test
    void newLimitsApplyLiveExceptThoseThatSizeTheListeners() throws Exception {
        RelayConfig running = config("limits: { max-message-size: 1KiB, max-connections: 10, max-connections-per-client: 5 }");
        RelayConfig next = config("limits: { max-message-size: 1MiB, max-connections: 20, max-recipients: 7 }");

        ReloadPlan plan = ReloadPlan.between(running, next);

        assertThat(plan.limits().maxMessageSize()).isEqualTo(1L << 20);
        assertThat(plan.limits().maxRecipients()).isEqualTo(7);
        assertThat(plan.limits().maxConnections()).as("kept until a restart").isEqualTo(10);
        assertThat(plan.routes()).isNull();
        assertThat(plan.needsRestart()).containsExactly("limits.max-connections");
        assertThat(plan.applyTo(running).limits()).isEqualTo(plan.limits());
    }

    @Test
    void aChangeOfTheIdleTimeoutAloneAppliesNothingAndNeedsARestart() throws Exception {
        ReloadPlan plan = ReloadPlan.between(config(""), config("limits: { idle-timeout: 1m }"));
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

        ReloadPlan plan = ReloadPlan.between(running, next);

        assertThat(plan.routes()).extracting(r -> r.name()).containsExactly("via-backup");
        assertThat(plan.limits()).isNull();
        assertThat(plan.needsRestart()).isEmpty();
        assertThat(plan.applied()).isEqualTo("routes (1)");
        assertThat(plan.applyTo(running).routes()).isEqualTo(next.routes());
    }

    @Test
    void newUpstreamsApplyLiveWithTheRoutesThatNameThem() throws Exception {
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
        RelayConfig running = config("");

        ReloadPlan plan = ReloadPlan.between(running, ConfigLoader.load(next, Map.of()).config());

        assertThat(plan.upstreams()).extracting(u -> u.name()).containsExactly("primary", "backup", "third");
        assertThat(plan.routes()).extracting(r -> r.name()).containsExactly("via-third");
        assertThat(plan.needsRestart()).isEmpty();
        assertThat(plan.applied()).isEqualTo("routes (1), upstreams [primary, backup, third]");
        assertThat(plan.applyTo(running).upstreams()).hasSize(3);
    }

    @Test
    void aChangedUpstreamSettingAloneRebuildsTheUpstreamsAndKeepsTheRoutes() throws Exception {
        String routes = """
                routes:
                  - { name: via-backup, senders: ["*"], upstreams: [backup] }
                """;
        RelayConfig running = config(routes);
        RelayConfig next = ConfigLoader.load(Files.writeString(dir.resolve("rate.yaml"),
                Files.readString(dir.resolve("base.yaml")).replace("url: \"smtp://127.0.0.1:2601\", tls: none",
                        "url: \"smtp://127.0.0.1:2601\", tls: none, max-connections: 2")), Map.of()).config();

        ReloadPlan plan = ReloadPlan.between(running, next);

        assertThat(plan.upstreams()).isNotNull();
        assertThat(plan.upstreams().get(1).maxConnections()).isEqualTo(2);
        assertThat(plan.routes()).isNull();
        assertThat(plan.applyTo(running).routes()).isEqualTo(running.routes());
    }

    @Test
    void aDelayWarningTurnedOnIsAQueueChangeThatNeedsARestartLikeTheOtherQueueKeys() throws Exception {
        ReloadPlan plan = ReloadPlan.between(config(""), config("queue: { delay-warning: 4h }"));
        assertThat(plan.appliesNothing()).isTrue();
        assertThat(plan.needsRestart()).containsExactly("queue");
    }

    @Test
    void listenerSpoolAndAdminChangesAreNamedAsNeedingARestart() throws Exception {
        RelayConfig running = config("");
        RelayConfig next = config("127.0.0.1:2701", """
                admin: { bind: "127.0.0.1:9191" }
                queue: { max-backoff: 2h }
                limits: { max-recipients: 3 }
                """);

        ReloadPlan plan = ReloadPlan.between(running, next);

        assertThat(plan.needsRestart()).containsExactly("listeners", "queue", "admin");
        assertThat(plan.limits().maxRecipients()).as("what can apply still does").isEqualTo(3);
    }
}
