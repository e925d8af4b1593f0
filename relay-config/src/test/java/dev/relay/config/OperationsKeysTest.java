package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** readiness.require-upstream and logging.mask-addresses: both off unless asked for. */
class OperationsKeysTest {
    @TempDir
    Path dir;

    private RelayConfig load(String yaml, Map<String, String> env) {
        return ConfigLoader.load(Fixtures.write(dir, Fixtures.MINIMAL + yaml), env).config();
    }

    @Test
    void bothAreOffByDefault() {
        RelayConfig c = load("", Map.of());
        assertThat(c.readiness().requireUpstream()).isFalse();
        assertThat(c.logging().maskAddresses()).isFalse();
    }

    @Test
    void bothTurnOnFromTheFileOrTheEnvironment() {
        RelayConfig file = load("readiness: { require-upstream: true }\nlogging: { mask-addresses: yes }\n",
                Map.of());
        assertThat(file.readiness().requireUpstream()).isTrue();
        assertThat(file.logging().maskAddresses()).isTrue();
        RelayConfig env = load("", Map.of("RELAY_READINESS_REQUIRE_UPSTREAM", "true",
                "RELAY_LOGGING_MASK_ADDRESSES", "true"));
        assertThat(env.readiness().requireUpstream()).isTrue();
        assertThat(env.logging().maskAddresses()).isTrue();
    }

    @Test
    void aValueThatIsNotABooleanIsAProblemNamingTheKey() {
        List<ConfigProblem> problems = catchThrowableOfType(ConfigException.class,
                () -> load("logging: { mask-addresses: sometimes }\n", Map.of())).problems();
        assertThat(problems).hasSize(1);
        assertThat(problems.get(0).key()).isEqualTo("logging.mask-addresses");
        assertThat(problems.get(0).value()).isEqualTo("sometimes");
        assertThat(problems.get(0).message()).contains("true or false");
    }

    @Test
    void thePrintedConfigurationLoadsBackWithBoth() {
        RelayConfig c = load("readiness: { require-upstream: true }\nlogging: { mask-addresses: true }\n",
                Map.of());
        String yaml = c.toMaskedYaml();
        assertThat(yaml).contains("require-upstream: true", "mask-addresses: true");
        RelayConfig again = ConfigLoader.load(Fixtures.write(dir, yaml.replace("****", "x")), Map.of()).config();
        assertThat(again.readiness()).isEqualTo(c.readiness());
        assertThat(again.logging()).isEqualTo(c.logging());
    }

    @Test
    void thePreviousConstructorGivesTheDefaults() {
        RelayConfig c = load("", Map.of());
        RelayConfig old = new RelayConfig(c.hostname(), c.listeners(), c.tls(), c.auth(), c.spool(), c.queue(),
                c.upstreams(), c.admin(), c.routes(), c.limits());
        assertThat(old.readiness()).isEqualTo(ReadinessConfig.defaults());
        assertThat(old.logging()).isEqualTo(LoggingConfig.defaults());
    }
}
