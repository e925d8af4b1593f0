package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    @TempDir
    Path dir;

    @Test
    void aFullValidExampleLoads() throws Exception {
        LoadedConfig loaded = ConfigLoader.load(Fixtures.write(dir, Fixtures.FULL), Map.of());
        RelayConfig c = loaded.config();

        assertThat(c.hostname()).isEqualTo("relay.example.com");
        assertThat(c.listeners()).containsExactly(
                new ListenerConfig("submission", new HostPort("0.0.0.0", 587), TlsMode.STARTTLS),
                new ListenerConfig("submissions", new HostPort("0.0.0.0", 465), TlsMode.IMPLICIT),
                new ListenerConfig("local", new HostPort("::1", 2525), TlsMode.NONE));
        assertThat(c.tls()).isEqualTo(new TlsConfig(Path.of("/etc/relay/tls.crt"), Path.of("/etc/relay/tls.key")));
        assertThat(c.auth().usersFile()).isEqualTo(Path.of("/etc/relay/users"));
        assertThat(c.auth().trustedNetworks()).extracting(Cidr::toString)
                .containsExactly("127.0.0.1/32", "fd00::/8");
        assertThat(c.auth().isTrusted(InetAddress.getByName("127.0.0.1"))).isTrue();
        assertThat(c.auth().isTrusted(InetAddress.getByName("10.0.0.1"))).isFalse();
        assertThat(c.spool().dir()).isEqualTo(Path.of("/var/spool/relay"));
        assertThat(c.queue().retryDelay()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.admin().bind()).isEqualTo(new HostPort("127.0.0.1", 9090));

        UpstreamConfig primary = c.upstreams().get(0);
        assertThat(primary.name()).isEqualTo("primary");
        assertThat(primary.url()).isEqualTo(new UpstreamUrl("smtp", "smtp.sendgrid.net", 587, "apikey"));
        assertThat(primary.username()).isEqualTo("apikey");
        assertThat(primary.password()).isEqualTo("s3cret-Pa55");
        assertThat(primary.tls()).isEqualTo(TlsMode.STARTTLS);
        assertThat(primary.trust()).isEqualTo(Path.of("/etc/relay/upstream-ca.pem"));
        UpstreamConfig backup = c.upstreams().get(1);
        assertThat(backup.host()).isEqualTo("mail.example.net");
        assertThat(backup.port()).isEqualTo(465);
        assertThat(backup.tls()).isEqualTo(TlsMode.IMPLICIT);
        assertThat(backup.username()).isEqualTo("relay");

        assertThat(loaded.warnings()).singleElement().asString().contains("listeners[2]", "without TLS");
    }

    @Test
    void defaultsApplyWhenOptionalKeysAreMissing() {
        RelayConfig c = ConfigLoader.load(Fixtures.write(dir, Fixtures.MINIMAL), Map.of()).config();

        assertThat(c.hostname()).isNotBlank();
        assertThat(c.listeners().get(0).tls()).isEqualTo(TlsMode.STARTTLS);
        assertThat(c.queue().retryDelay()).isEqualTo(Duration.ofMinutes(1));
        assertThat(c.admin().bind()).isEqualTo(new HostPort("127.0.0.1", 9090));
        assertThat(c.auth().trustedNetworks()).isEmpty();
        assertThat(c.upstreams().get(0).port()).isEqualTo(587);
        assertThat(c.upstreams().get(0).username()).isNull();
    }

    @Test
    void aMissingFileIsAnErrorNamingTheFile() {
        Path missing = dir.resolve("nope.yaml");
        assertThatThrownBy(() -> ConfigLoader.load(missing, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(missing.toString())
                .hasMessageContaining("does not exist");
    }

    @Test
    void aYamlSyntaxErrorNamesTheFileAndLine() {
        Path file = Fixtures.write(dir, "spool:\n  dir: /x\nlisteners: [ {name: a\n");
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(file, Map.of()));
        assertThat(e.problems()).singleElement().satisfies(p -> {
            assertThat(p.key()).isEqualTo(file.toString());
            assertThat(p.message()).contains("line ", "not valid YAML");
        });
    }

    @Test
    void aKeyGivenTwiceIsAnError() {
        Path file = Fixtures.write(dir, Fixtures.MINIMAL + "spool: { dir: /other }\n");
        assertThatThrownBy(() -> ConfigLoader.load(file, Map.of()))
                .hasMessageContaining("'spool' is given twice").hasMessageContaining("line 8");
    }

    @Test
    void anUnknownYamlKeyIsAnErrorListingTheValidKeys() {
        String yaml = Fixtures.MINIMAL.replace("spool: { dir: /var/spool/relay }",
                "spool: { dir: /var/spool/relay, size: 10 }\nspoool: {}");
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> ConfigLoader.load(Fixtures.write(dir, yaml), Map.of()));
        assertThat(e.problems()).extracting(ConfigProblem::key).containsExactly("spool.size", "spoool");
        assertThat(e.problems().get(0).message()).contains("unknown key", "line 5", "valid keys under spool: dir");
        assertThat(e.problems().get(1).message()).contains("valid keys at the top level: hostname, listeners, tls,"
                + " auth, spool, queue, upstreams, admin");
    }

    @Test
    void anEmptyYamlKeyIsNamedQuotedNotAsNothing() { // found by ConfigFuzzTest: the problem's key was ""
        String yaml = Fixtures.MINIMAL + "\"\": 1\nspool: { \"\": 2, dir: /var/spool/relay }\n";
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> ConfigLoader.load(Fixtures.write(dir, yaml.replace("spool: { dir: /var/spool/relay }\n", "")),
                        Map.of()));
        assertThat(e.problems()).extracting(ConfigProblem::key).containsExactly("''", "spool.''");
        assertThat(e.problems().get(0).message()).contains("unknown key");
    }

    @Test
    void aValueOfTheWrongKindIsAnError() {
        String yaml = Fixtures.MINIMAL.replace("spool: { dir: /var/spool/relay }", "spool: /var/spool/relay");
        assertThatThrownBy(() -> ConfigLoader.load(Fixtures.write(dir, yaml), Map.of()))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems())
                        .extracting(ConfigProblem::key).containsExactly("spool"))
                .hasMessageContaining("expected keys (dir, min-free-space)");
    }

    @Test
    void anEmptyFileWithoutEnvironmentReportsWhatIsMissing() throws Exception {
        Path file = Files.writeString(dir.resolve("empty.yaml"), "");
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(file, Map.of()));
        assertThat(e.problems()).extracting(ConfigProblem::key)
                .containsExactlyInAnyOrder("listeners", "auth", "spool.dir", "upstreams");
    }

    @Test
    void environmentOnlyConfigurationNeedsNoFile() {
        LoadedConfig loaded = ConfigLoader.load(null, Map.of(
                "RELAY_LISTENERS_0_BIND", "127.0.0.1:2525",
                "RELAY_LISTENERS_0_TLS", "none",
                "RELAY_AUTH_TRUSTED_NETWORKS", "127.0.0.1/32",
                "RELAY_SPOOL_DIR", "/tmp/spool",
                "RELAY_UPSTREAMS_0_URL", "smtp://localhost:3025",
                "RELAY_UPSTREAMS_0_TLS", "none",
                "RELAY_JAVA_OPTS", "-Xmx64m"));
        assertThat(loaded.config().listeners().get(0).name()).isEqualTo("listener-0");
        assertThat(loaded.config().upstreams().get(0).name()).isEqualTo("upstream-0");
        assertThat(loaded.warnings()).hasSize(2);
    }

    @Test
    void hasEnvironmentConfigSeesOnlyVariablesThatMapToKeys() {
        assertThat(ConfigLoader.hasEnvironmentConfig(Map.of())).isFalse();
        assertThat(ConfigLoader.hasEnvironmentConfig(Map.of("PATH", "/bin", "RELAY_JAVA", "/usr/bin/java",
                "RELAY_JAVA_OPTS", "-Xmx1g", "RELAY_LOG_FORMAT", "json"))).isFalse();
        assertThat(ConfigLoader.hasEnvironmentConfig(Map.of("RELAY_NOPE", "x"))).isFalse();
        assertThat(ConfigLoader.hasEnvironmentConfig(Map.of("RELAY_SPOOL_DIR", "/x"))).isTrue();
        assertThat(ConfigLoader.hasEnvironmentConfig(Map.of("RELAY_UPSTREAMS_0_PASSWORD_FILE", "/x"))).isTrue();
    }

    @Test
    void launcherVariablesAreNotReportedAsUnknown() {
        Map<String, String> env = Map.of("RELAY_JAVA", "/usr/bin/java", "RELAY_JAVA_OPTS", "-Xmx1g",
                "RELAY_JAVA_SEARCH_DIRS", "/opt/jdks", "RELAY_CDS_ARCHIVE", "", "RELAY_AOT_CACHE", "",
                "RELAY_LOG_FORMAT", "json", "RELAY_LOG_LEVEL", "DEBUG");
        assertThat(ConfigLoader.load(Fixtures.write(dir, Fixtures.MINIMAL), env).config()).isNotNull();
        assertThat(ConfigLoader.hasEnvironmentConfig(env)).as("no configuration from these alone").isFalse();
    }
}
