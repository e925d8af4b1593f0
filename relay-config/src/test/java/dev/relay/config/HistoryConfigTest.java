package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HistoryConfigTest {
    @TempDir
    Path dir;

    @Test
    void onByDefaultInTheSpoolDirectoryFor30Days() {
        HistoryConfig h = Fixtures.minimalWith(dir, "", Map.of()).history();
        assertThat(h.enabled()).isTrue();
        assertThat(h.path()).isNull();
        assertThat(h.file(Path.of("/var/spool/relay"))).isEqualTo(Path.of("/var/spool/relay/history.db"));
        assertThat(h.retention()).isEqualTo(Duration.ofDays(30));
        assertThat(h.maxSize()).isEqualTo(1L << 30);
        assertThat(h.maskAddresses()).isFalse();
        assertThat(h.subject()).isFalse();
        assertThat(h.buffer()).isEqualTo(10_000);
    }

    @Test
    void everyKeyFromTheFileAndTheEnvironment() {
        HistoryConfig h = Fixtures.minimalWith(dir, "history: { path: /data/h.db, retention: 7d, max-size: 200MiB, mask-addresses: true, "
                + "subject: true, buffer: 500 }", Map.of()).history();
        assertThat(h.file(Path.of("/s"))).isEqualTo(Path.of("/data/h.db"));
        assertThat(h.retention()).isEqualTo(Duration.ofDays(7));
        assertThat(h.maxSize()).isEqualTo(200L << 20);
        assertThat(h.maskAddresses()).isTrue();
        assertThat(h.subject()).isTrue();
        assertThat(h.buffer()).isEqualTo(500);
        HistoryConfig env = Fixtures.minimalWith(dir, "", Map.of("RELAY_HISTORY_ENABLED", "false", "RELAY_HISTORY_RETENTION", "2d",
                "RELAY_HISTORY_MAX_SIZE", "10MiB", "RELAY_HISTORY_MASK_ADDRESSES", "true")).history();
        assertThat(env.enabled()).isFalse();
        assertThat(env.retention()).isEqualTo(Duration.ofDays(2));
        assertThat(env.maxSize()).isEqualTo(10L << 20);
        assertThat(env.maskAddresses()).isTrue();
    }

    @Test
    void anInvalidValueNamesTheKeyAndTheFix() {
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> Fixtures.minimalWith(dir, "history: { retention: 10m }", Map.of()));
        assertThat(e.problems()).singleElement().satisfies(p -> {
            assertThat(p.key()).isEqualTo("history.retention");
            assertThat(p.message()).contains("at least 1h", "30d");
        });
        e = catchThrowableOfType(ConfigException.class, () -> Fixtures.minimalWith(dir, "history: { max-size: 10k }", Map.of()));
        assertThat(e.problems()).singleElement().satisfies(p -> assertThat(p.key()).isEqualTo("history.max-size"));
        e = catchThrowableOfType(ConfigException.class, () -> Fixtures.minimalWith(dir, "history: { buffer: 5 }", Map.of()));
        assertThat(e.problems()).singleElement().satisfies(p -> assertThat(p.key()).isEqualTo("history.buffer"));
        e = catchThrowableOfType(ConfigException.class, () -> Fixtures.minimalWith(dir, "history: { retention: soon }", Map.of()));
        assertThat(e.problems()).singleElement().satisfies(p -> assertThat(p.key()).isEqualTo("history.retention"));
    }

    @Test
    void printsAndLoadsBack() {
        RelayConfig c = Fixtures.minimalWith(dir, "history: { retention: 7d, mask-addresses: true }", Map.of());
        String yaml = c.toMaskedYaml();
        assertThat(yaml).contains("history:", "retention: 7d", "mask-addresses: true");
        RelayConfig again = ConfigLoader.load(Fixtures.write(dir, yaml), Map.of()).config();
        assertThat(again.history()).isEqualTo(c.history());
    }
}
