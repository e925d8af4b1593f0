package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** queue.min-backoff/max-backoff/max-lifetime/bounces (retry-delay as alias) and admin.token. */
class QueueAndAdminKeysTest {
    @TempDir
    Path dir;

    private RelayConfig load(String yaml, Map<String, String> env) {
        return ConfigLoader.load(Fixtures.write(dir, Fixtures.MINIMAL + yaml), env).config();
    }

    private List<ConfigProblem> problems(String yaml) {
        return catchThrowableOfType(ConfigException.class,
                () -> ConfigLoader.load(Fixtures.write(dir, Fixtures.MINIMAL + yaml), Map.of())).problems();
    }

    @Test
    void queueDefaultsAreOneMinuteOneHourFiveDaysAndSend() {
        QueueConfig q = load("", Map.of()).queue();
        assertThat(q).isEqualTo(QueueConfig.defaults());
        assertThat(q.minBackoff()).isEqualTo(Duration.ofMinutes(1));
        assertThat(q.maxBackoff()).isEqualTo(Duration.ofHours(1));
        assertThat(q.maxLifetime()).isEqualTo(Duration.ofDays(5));
        assertThat(q.bounces()).isEqualTo(QueueConfig.BounceMode.SEND);
        assertThat(q.failedRetention()).isEqualTo(Duration.ofDays(7));
    }

    @Test
    void failedRetentionMustBePositive() {
        assertThat(problems("queue: { failed-retention: 0s }\n")).singleElement()
                .satisfies(p -> assertThat(p.key()).isEqualTo("queue.failed-retention"));
    }

    @Test
    void everyQueueKeyIsReadFromFileAndEnvironment() {
        QueueConfig q = load("queue: { min-backoff: 30s, max-backoff: 2h, max-lifetime: 3d, bounces: log, "
                + "failed-retention: 30d }\n", Map.of("RELAY_QUEUE_MAX_LIFETIME", "1d")).queue();
        assertThat(q).isEqualTo(new QueueConfig(Duration.ofSeconds(30), Duration.ofHours(2), Duration.ofDays(1),
                QueueConfig.BounceMode.LOG, Duration.ofDays(30)));
    }

    @Test
    void retryDelayStillWorksAsTheOldNameOfMinBackoff() {
        QueueConfig q = load("queue: { retry-delay: 10s }\n", Map.of()).queue();
        assertThat(q.minBackoff()).isEqualTo(Duration.ofSeconds(10));
        assertThat(q.retryDelay()).isEqualTo(Duration.ofSeconds(10));
        assertThat(new QueueConfig(Duration.ofSeconds(10)).maxBackoff()).isEqualTo(Duration.ofHours(1));
    }

    @Test
    void retryDelayAndMinBackoffTogetherIsAnError() {
        assertThat(problems("queue: { retry-delay: 10s, min-backoff: 20s }\n")).singleElement().satisfies(p -> {
            assertThat(p.key()).isEqualTo("queue.retry-delay");
            assertThat(p.message()).contains("keep min-backoff");
        });
    }

    @Test
    void maxBackoffShorterThanMinBackoffIsAnError() {
        assertThat(problems("queue: { min-backoff: 2h, max-backoff: 1h }\n")).singleElement().satisfies(p -> {
            assertThat(p.key()).isEqualTo("queue.max-backoff");
            assertThat(p.value()).isEqualTo("1h");
            assertThat(p.message()).contains("min-backoff (2h)");
        });
    }

    @Test
    void unknownBounceModeNamesTheChoices() {
        assertThat(problems("queue: { bounces: maybe }\n")).singleElement().satisfies(p -> {
            assertThat(p.key()).isEqualTo("queue.bounces");
            assertThat(p.message()).contains("send or log");
        });
    }

    @Test
    void adminOffLoopbackWithoutTokenTurnsTheQueueApiOffWithAWarning() {
        LoadedConfig loaded = ConfigLoader.load(Fixtures.write(dir, Fixtures.MINIMAL
                + "admin: { bind: \"0.0.0.0:9090\" }\n"), Map.of());
        assertThat(loaded.config().admin().token()).isNull();
        assertThat(loaded.warnings()).anySatisfy(w -> assertThat(w).contains("0.0.0.0:9090",
                "queue API (/api/queue) is off", "admin.token-file"));
    }

    @Test
    void adminTokenFromAFileIsReadAndMasked() throws Exception {
        Path file = Files.writeString(dir.resolve("token"), "t0ken-value\n");
        RelayConfig c = load("admin: { bind: \"0.0.0.0:9090\", token-file: \"" + file + "\" }\n", Map.of());
        assertThat(c.admin().token()).isEqualTo("t0ken-value");
        assertThat(c.toMaskedYaml()).contains("token: '****'").doesNotContain("t0ken-value");
        assertThat(c.admin().toString()).doesNotContain("t0ken-value");
        assertThat(new AdminConfig(new HostPort("127.0.0.1", 9090)).token()).isNull();
    }
}
