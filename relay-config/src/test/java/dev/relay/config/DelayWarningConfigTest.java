package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** queue.delay-warning: off by default, a duration from the file or RELAY_QUEUE_DELAY_WARNING, checked and printed. */
class DelayWarningConfigTest {
    @TempDir
    Path dir;

    private RelayConfig load(String yaml, Map<String, String> env) {
        return ConfigLoader.load(Fixtures.write(dir, Fixtures.MINIMAL + yaml), env).config();
    }

    /** The printed configuration, loaded as a file of its own. */
    private RelayConfig reload(RelayConfig c) {
        return ConfigLoader.load(Fixtures.write(dir, c.toMaskedYaml()), Map.of()).config();
    }

    private List<ConfigProblem> problems(String yaml, Map<String, String> env) {
        return catchThrowableOfType(ConfigException.class,
                () -> ConfigLoader.load(Fixtures.write(dir, Fixtures.MINIMAL + yaml), env)).problems();
    }

    @Test
    void offByDefaultAndPrintedAsOff() {
        RelayConfig c = load("", Map.of());
        assertThat(c.queue().delayWarning()).isNull();
        assertThat(c.toMaskedYaml()).containsPattern("delay-warning: \"?off\"?\n");
        assertThat(reload(c).queue().delayWarning()).as("printed, loads back").isNull();
    }

    @Test
    void readFromTheFileAndPrintedSoThatItLoadsBack() {
        RelayConfig c = load("queue: { delay-warning: 4h }\n", Map.of());
        assertThat(c.queue().delayWarning()).isEqualTo(Duration.ofHours(4));
        assertThat(c.toMaskedYaml()).contains("delay-warning: 4h");
        assertThat(reload(c).queue()).isEqualTo(c.queue());
    }

    @Test
    void theEnvironmentSetsItOrTurnsItOff() {
        assertThat(load("", Map.of("RELAY_QUEUE_DELAY_WARNING", "30m")).queue().delayWarning())
                .isEqualTo(Duration.ofMinutes(30));
        assertThat(load("queue: { delay-warning: 4h }\n", Map.of("RELAY_QUEUE_DELAY_WARNING", "off")).queue()
                .delayWarning()).isNull();
        assertThat(load("queue: { delay-warning: off }\n", Map.of()).queue().delayWarning()).isNull();
    }

    @Test
    void zeroOrNegativeIsAnErrorNamingTheKeyAndTheFix() {
        assertThat(problems("queue: { delay-warning: 0s }\n", Map.of())).singleElement().satisfies(p -> {
            assertThat(p.key()).isEqualTo("queue.delay-warning");
            assertThat(p.message()).contains("positive", "4h, or off");
        });
        assertThat(problems("queue: { delay-warning: \"-PT1H\" }\n", Map.of())).singleElement()
                .satisfies(p -> assertThat(p.key()).isEqualTo("queue.delay-warning"));
    }

    @Test
    void atOrPastTheLifetimeIsAnErrorNamingTheLifetime() {
        assertThat(problems("queue: { delay-warning: 5d }\n", Map.of())).singleElement().satisfies(p -> {
            assertThat(p.key()).isEqualTo("queue.delay-warning");
            assertThat(p.value()).isEqualTo("5d");
            assertThat(p.message()).contains("queue.max-lifetime (5d)", "make it shorter");
        });
        assertThat(problems("queue: { delay-warning: 4h }\n", Map.of("RELAY_QUEUE_MAX_LIFETIME", "2h")))
                .singleElement().satisfies(p -> assertThat(p.message()).contains("queue.max-lifetime (2h)"));
        assertThat(load("queue: { delay-warning: 1h, max-lifetime: 2h }\n", Map.of()).queue().delayWarning())
                .isEqualTo(Duration.ofHours(1));
    }

    @Test
    void notADurationSaysHowToWriteOne() {
        assertThat(problems("", Map.of("RELAY_QUEUE_DELAY_WARNING", "soon"))).singleElement().satisfies(p -> {
            assertThat(p.key()).isEqualTo("queue.delay-warning");
            assertThat(p.message()).contains("not a duration", "or off");
        });
    }
}
