package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnvironmentOverrideTest {
    @TempDir
    Path dir;

    private RelayConfig load(String yaml, Map<String, String> env) {
        return ConfigLoader.load(Fixtures.write(dir, yaml), env).config();
    }

    @Test
    void aScalarIsOverridden() {
        RelayConfig c = load(Fixtures.FULL, Map.of("RELAY_HOSTNAME", "mx.example.org"));
        assertThat(c.hostname()).isEqualTo("mx.example.org");
    }

    @Test
    void aNestedKeyIsOverridden() {
        RelayConfig c = load(Fixtures.FULL, Map.of("RELAY_SPOOL_DIR", "/data/spool",
                "RELAY_QUEUE_RETRY_DELAY", "5m", "RELAY_AUTH_USERS_FILE", "/secrets/users"));
        assertThat(c.spool().dir()).isEqualTo(Path.of("/data/spool"));
        assertThat(c.queue().retryDelay()).isEqualTo(Duration.ofMinutes(5));
        assertThat(c.auth().usersFile()).isEqualTo(Path.of("/secrets/users"));
    }

    @Test
    void aListItemIsOverriddenByIndex() {
        RelayConfig c = load(Fixtures.FULL, Map.of("RELAY_UPSTREAMS_1_URL", "smtps://smtp.mailgun.org:465",
                "RELAY_LISTENERS_0_BIND", "[::]:587", "RELAY_AUTH_TRUSTED_NETWORKS_1", "10.0.0.0/8"));
        assertThat(c.upstreams().get(1).host()).isEqualTo("smtp.mailgun.org");
        assertThat(c.upstreams().get(1).name()).isEqualTo("backup");
        assertThat(c.listeners().get(0).bind()).isEqualTo(new HostPort("::", 587));
        assertThat(c.auth().trustedNetworks()).extracting(Cidr::toString)
                .containsExactly("127.0.0.1/32", "10.0.0.0/8");
    }

    @Test
    void aWholeUpstreamIsCreatedFromTheEnvironmentAlone() {
        RelayConfig c = load(Fixtures.MINIMAL, Map.of(
                "RELAY_UPSTREAMS_1_NAME", "ses",
                "RELAY_UPSTREAMS_1_URL", "smtp://email-smtp.eu-west-1.amazonaws.com:2525",
                "RELAY_UPSTREAMS_1_USERNAME", "AKIA123",
                "RELAY_UPSTREAMS_1_PASSWORD", "ses-secret"));
        assertThat(c.upstreams()).hasSize(2);
        UpstreamConfig ses = c.upstreams().get(1);
        assertThat(ses.name()).isEqualTo("ses");
        assertThat(ses.port()).isEqualTo(2525);
        assertThat(ses.username()).isEqualTo("AKIA123");
        assertThat(ses.password()).isEqualTo("ses-secret");
    }

    @Test
    void aCommaSeparatedVariableGivesAWholeList() {
        RelayConfig c = load(Fixtures.FULL, Map.of("RELAY_AUTH_TRUSTED_NETWORKS", "127.0.0.1/32, ::1/128,10.1.0.0/16"));
        assertThat(c.auth().trustedNetworks()).extracting(Cidr::toString)
                .containsExactly("127.0.0.1/32", "::1/128", "10.1.0.0/16");
    }

    @Test
    void aCommaSeparatedYamlValueIsAcceptedForAListOfValues() {
        RelayConfig c = load(Fixtures.MINIMAL + "admin: { bind: \"127.0.0.1:9091\" }\n",
                Map.of("RELAY_AUTH_TRUSTED_NETWORKS", "10.0.0.0/8"));
        assertThat(c.auth().trustedNetworks()).extracting(Cidr::toString).containsExactly("10.0.0.0/8");
        assertThat(c.admin().bind().port()).isEqualTo(9091);
    }

    @Test
    void aPasswordIsReadFromTheFileNamedByTheFileVariable() throws Exception {
        Path secret = Files.writeString(dir.resolve("password"), "from-a-file\n");
        String yaml = Fixtures.MINIMAL.replace("url: \"smtp://smtp.example.com\"",
                "url: \"smtp://user@smtp.example.com\"");
        RelayConfig c = load(yaml, Map.of("RELAY_UPSTREAMS_0_PASSWORD_FILE", secret.toString()));
        assertThat(c.upstreams().get(0).password()).isEqualTo("from-a-file");
    }

    @Test
    void aPasswordFileInYamlIsReadWithTheTrailingNewlineStripped() throws Exception {
        Path secret = Files.writeString(dir.resolve("password"), "pa ss\r\n");
        String yaml = Fixtures.MINIMAL.replace("{ name: primary, url: \"smtp://smtp.example.com\" }",
                "{ name: primary, url: \"smtp://smtp.example.com\", username: u, password-file: " + secret + " }");
        assertThat(load(yaml, Map.of()).upstreams().get(0).password()).isEqualTo("pa ss");
    }

    @Test
    void anEmptyVariableRemovesTheKey() {
        RelayConfig c = load(Fixtures.FULL, Map.of("RELAY_HOSTNAME", "", "RELAY_UPSTREAMS_0_TRUST", ""));
        assertThat(c.hostname()).isNotEqualTo("relay.example.com");
        assertThat(c.upstreams().get(0).trust()).isNull();
    }

    @Test
    void anUnknownVariableIsAnErrorListingTheValidKeysAtThatLevel() {
        Map<String, String> env = new HashMap<>();
        env.put("RELAY_UPSTREAMS_0_PASWORD", "typo");
        env.put("RELAY_SPOOOL_DIR", "/x");
        env.put("RELAY_AUTH", "x");
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> load(Fixtures.FULL, env));
        assertThat(e.problems()).extracting(ConfigProblem::key)
                .containsExactly("RELAY_AUTH", "RELAY_SPOOOL_DIR", "RELAY_UPSTREAMS_0_PASWORD");
        assertThat(e.problems().get(0).message()).contains("auth is a section", "users-file, trusted-networks");
        assertThat(e.problems().get(1).message()).contains("at the top level", "hostname, listeners, tls, auth");
        assertThat(e.problems().get(2).value()).isEqualTo("****");
        assertThat(e.problems().get(2).message()).contains("under upstreams[0]",
                "name, url, username, password, password-file, tls, trust", "RELAY_UPSTREAMS_0_<KEY>");
    }

    @Test
    void aValueFromTheEnvironmentThatDoesNotParseNamesTheVariable() {
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> load(Fixtures.FULL, Map.of("RELAY_QUEUE_RETRY_DELAY", "soon")));
        assertThat(e.problems()).singleElement().satisfies(p -> {
            assertThat(p.key()).isEqualTo("queue.retry-delay");
            assertThat(p.value()).isEqualTo("soon");
            assertThat(p.message()).contains("RELAY_QUEUE_RETRY_DELAY", "30s");
        });
    }

    @Test
    void aGapInTheListItemsIsAnError() {
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> load(Fixtures.MINIMAL, Map.of("RELAY_UPSTREAMS_2_URL", "smtp://smtp.example.org")));
        assertThat(e.problems()).singleElement().satisfies(p -> {
            assertThat(p.key()).isEqualTo("upstreams[1]");
            assertThat(p.message()).contains("without gaps");
        });
    }

    @Test
    void variableNamesAreMatchedAgainstTheKeyTreeNotATable() {
        assertThat(EnvOverlay.resolve("RELAY_UPSTREAMS_12_PASSWORD_FILE", "x", new Problems()).key())
                .isEqualTo("upstreams[12].password-file");
        assertThat(EnvOverlay.resolve("RELAY_UPSTREAMS_0_PASSWORD", "x", new Problems()).key())
                .isEqualTo("upstreams[0].password");
        assertThat(EnvOverlay.resolve("RELAY_AUTH_TRUSTED_NETWORKS_3", "x", new Problems()).key())
                .isEqualTo("auth.trusted-networks[3]");
        assertThat(EnvOverlay.resolve("RELAY_TLS_KEY", "x", new Problems()).key()).isEqualTo("tls.key");
        assertThat(EnvOverlay.resolve("RELAY_LISTENERS_1_TLS", "x", new Problems()).key())
                .isEqualTo("listeners[1].tls");
    }
}
