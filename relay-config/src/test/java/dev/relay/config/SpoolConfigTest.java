package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolConfigTest {
    private static final String SPOOL = "spool: { dir: /var/spool/relay }";

    @TempDir
    Path dir;

    private RelayConfig load(String spoolLine, Map<String, String> env) {
        assertThat(Fixtures.MINIMAL).contains(SPOOL);
        return ConfigLoader.load(Fixtures.write(dir, Fixtures.MINIMAL.replace(SPOOL, spoolLine)), env).config();
    }

    @Test
    void freeSpaceReserveDefaultsTo256MiB() {
        assertThat(load(SPOOL, Map.of()).spool().minFreeSpace()).isEqualTo(256L << 20);
        assertThat(new SpoolConfig(Path.of("/x")).minFreeSpace()).isEqualTo(SpoolConfig.DEFAULT_MIN_FREE_SPACE);
    }

    @Test
    void freeSpaceReserveTakesBinaryAndDecimalUnits() {
        assertThat(load("spool: { dir: /s, min-free-space: 100MiB }", Map.of()).spool().minFreeSpace())
                .isEqualTo(100L << 20);
        assertThat(load("spool: { dir: /s, min-free-space: 1GiB }", Map.of()).spool().minFreeSpace())
                .isEqualTo(1L << 30);
        assertThat(load("spool: { dir: /s, min-free-space: 0 }", Map.of()).spool().minFreeSpace()).isZero();
        assertThat(Sizes.parse("512 KiB")).isEqualTo(512L << 10);
        assertThat(Sizes.parse("2GB")).isEqualTo(2_000_000_000L);
        assertThat(Sizes.parse("4096")).isEqualTo(4096L);
    }

    @Test
    void freeSpaceReserveComesFromTheEnvironmentToo() {
        assertThat(load(SPOOL, Map.of("RELAY_SPOOL_MIN_FREE_SPACE", "2GiB")).spool().minFreeSpace())
                .isEqualTo(2L << 30);
    }

    @Test
    void aBadSizeIsAProblemNamingTheKeyAndTheFix() {
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> load("spool: { dir: /s, min-free-space: lots }", Map.of()));
        assertThat(e.problems()).hasSize(1);
        ConfigProblem p = e.problems().get(0);
        assertThat(p.key()).isEqualTo("spool.min-free-space");
        assertThat(p.value()).isEqualTo("lots");
        assertThat(p.message()).contains("not a size", "256MiB");
        assertThatThrownBy(() -> Sizes.parse("-1MiB")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Sizes.parse("99999999999TiB")).hasMessageContaining("too large");
    }

    @Test
    void printedReserveLoadsBack() {
        RelayConfig c = load("spool: { dir: /s, min-free-space: 1536MiB }", Map.of());
        assertThat(c.toMaskedYaml()).contains("min-free-space: 1536MiB");
        assertThat(Sizes.format(0)).isEqualTo("0");
        assertThat(Sizes.format(1L << 30)).isEqualTo("1GiB");
        assertThat(Sizes.parse(Sizes.format(123_457))).isEqualTo(123_457);
    }
}
