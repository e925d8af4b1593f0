package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The per-upstream delivery keys: pool, timeouts, rate, auth and oauth2. */
class UpstreamDeliveryConfigTest {
    private static final String UPSTREAM = "  - { name: primary, url: \"smtp://smtp.example.com\" }\n";

    @TempDir
    Path dir;

    private LoadedConfig load(String yaml, Map<String, String> env) {
        return ConfigLoader.load(Fixtures.write(dir, yaml), env);
    }

    private UpstreamConfig upstream(String upstreamYaml) {
        return load(Fixtures.MINIMAL.replace(UPSTREAM, upstreamYaml), Map.of()).config().upstreams().get(0);
    }

    private List<ConfigProblem> problems(String upstreamYaml) {
        return catchThrowableOfType(ConfigException.class,
                () -> load(Fixtures.MINIMAL.replace(UPSTREAM, upstreamYaml), Map.of())).problems();
    }

    @Test
    void absentKeysTakeTheDefaults() {
        UpstreamConfig u = upstream(UPSTREAM);

        assertThat(u.maxConnections()).isEqualTo(10);
        assertThat(u.maxMessagesPerConnection()).isEqualTo(100);
        assertThat(u.idleTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(u.timeouts()).isEqualTo(new UpstreamConfig.Timeouts(Duration.ofSeconds(30),
                Duration.ofMinutes(5), Duration.ofMinutes(5), Duration.ofMinutes(3), Duration.ofMinutes(10)));
        assertThat(u.rate()).isEqualTo(UpstreamConfig.Rate.UNLIMITED);
        assertThat(u.auth()).isEqualTo(UpstreamAuth.AUTO);
        assertThat(u.oauth2()).isNull();
    }

    @Test
    void poolTimeoutsAndRateAreBoundAndPartialTimeoutsKeepTheirDefaults() {
        UpstreamConfig u = upstream("""
                  - name: primary
                    url: "smtp://email-smtp.eu-west-1.amazonaws.com:587"
                    max-connections: 4
                    max-messages-per-connection: 50
                    idle-timeout: 20s
                    timeouts: { connect: 10s, data-end: 2m }
                    rate: { per-second: 0.5, per-day: 50000 }
                """);

        assertThat(u.maxConnections()).isEqualTo(4);
        assertThat(u.maxMessagesPerConnection()).isEqualTo(50);
        assertThat(u.idleTimeout()).isEqualTo(Duration.ofSeconds(20));
        assertThat(u.timeouts().connect()).isEqualTo(Duration.ofSeconds(10));
        assertThat(u.timeouts().dataEnd()).isEqualTo(Duration.ofMinutes(2));
        assertThat(u.timeouts().command()).isEqualTo(Duration.ofMinutes(5));
        assertThat(u.rate()).isEqualTo(new UpstreamConfig.Rate(0.5, 50000));
    }

    @Test
    void environmentSetsNestedDeliveryKeys() {
        UpstreamConfig u = load(Fixtures.MINIMAL, Map.of("RELAY_UPSTREAMS_0_TIMEOUTS_DATA_BLOCK", "90s",
                "RELAY_UPSTREAMS_0_RATE_PER_SECOND", "14", "RELAY_UPSTREAMS_0_MAX_CONNECTIONS", "2"))
                .config().upstreams().get(0);

        assertThat(u.timeouts().dataBlock()).isEqualTo(Duration.ofSeconds(90));
        assertThat(u.rate().perSecond()).isEqualTo(14.0);
        assertThat(u.maxConnections()).isEqualTo(2);
    }

    @Test
    void xoauth2ClientCredentialsWithTheSecretFromAFile() throws Exception {
        Path secret = Files.writeString(dir.resolve("client-secret"), "cl1ent-Secret\n");
        UpstreamConfig u = upstream("""
                  - name: m365
                    url: "smtp://smtp.office365.com:587"
                    username: relay@example.com
                    auth: xoauth2
                    oauth2:
                      token-url: "https://login.microsoftonline.com/tenant-id/oauth2/v2.0/token"
                      client-id: app-id
                      client-secret-file: %s
                      scope: "https://outlook.office365.com/.default"
                """.formatted(secret));

        assertThat(u.auth()).isEqualTo(UpstreamAuth.XOAUTH2);
        assertThat(u.oauth2()).isEqualTo(new UpstreamConfig.OAuth2(
                URI.create("https://login.microsoftonline.com/tenant-id/oauth2/v2.0/token"), "app-id",
                "cl1ent-Secret", "https://outlook.office365.com/.default", null));
        assertThat(u.toString()).doesNotContain("cl1ent-Secret");
    }

    @Test
    void maskedYamlShowsTheDeliveryKeysButNoOAuth2Secret() {
        String yaml = load(Fixtures.MINIMAL.replace(UPSTREAM, """
                  - name: gmail
                    url: "smtp://smtp.gmail.com:587"
                    username: relay@example.com
                    auth: xoauth2
                    oauth2:
                      token-url: "https://oauth2.googleapis.com/token"
                      client-id: cid
                      client-secret: cl1ent-Secret
                      refresh-token: r3fresh-Token
                    rate: { per-second: 0.5 }
                """), Map.of()).config().toMaskedYaml();

        assertThat(yaml).doesNotContain("cl1ent-Secret", "r3fresh-Token")
                .contains("auth: xoauth2", "client-secret: '****'", "refresh-token: '****'", "per-second: \"0.5\"",
                        "max-connections: \"10\"", "idle-timeout: 30s", "data-end: 10m");
    }

    @Test
    void outOfRangeValuesNameTheKey() {
        List<ConfigProblem> problems = problems("""
                  - name: primary
                    url: "smtp://smtp.example.com"
                    max-connections: 0
                    max-messages-per-connection: -1
                    idle-timeout: 5m
                    timeouts: { command: 0s }
                    rate: { per-day: -5 }
                """);

        assertThat(problems).extracting(ConfigProblem::key).containsExactlyInAnyOrder(
                "upstreams[0].max-connections", "upstreams[0].max-messages-per-connection",
                "upstreams[0].idle-timeout", "upstreams[0].timeouts.command", "upstreams[0].rate.per-day");
        assertThat(problems).filteredOn(p -> p.key().endsWith("idle-timeout")).singleElement()
                .satisfies(p -> assertThat(p.message()).contains("under 5m"));
    }

    @Test
    void valuesThatDoNotParseSayWhatToWrite() {
        List<ConfigProblem> problems = problems("""
                  - name: primary
                    url: "smtp://smtp.example.com"
                    max-connections: many
                    rate: { per-second: fast }
                    auth: cram-md5
                """);

        assertThat(problems).extracting(ConfigProblem::key).containsExactlyInAnyOrder(
                "upstreams[0].max-connections", "upstreams[0].rate.per-second", "upstreams[0].auth");
        assertThat(problems).extracting(ConfigProblem::message).anySatisfy(m -> assertThat(m)
                .contains("use auto, plain, login or xoauth2"));
    }

    @Test
    void xoauth2NeedsItsTokenEndpointAndAMailbox() {
        List<ConfigProblem> problems = problems("""
                  - name: m365
                    url: "smtp://smtp.office365.com:587"
                    auth: xoauth2
                """);

        assertThat(problems).extracting(ConfigProblem::key).containsExactlyInAnyOrder("upstreams[0].username",
                "upstreams[0].oauth2");
    }

    @Test
    void tokenEndpointOverPlainHttpIsOnlyForLoopback() {
        List<ConfigProblem> problems = problems("""
                  - name: m365
                    url: "smtp://smtp.office365.com:587"
                    username: relay@example.com
                    auth: xoauth2
                    oauth2: { token-url: "http://login.example.com/token", client-id: a, client-secret: b }
                """);
        assertThat(problems).singleElement().satisfies(p -> {
            assertThat(p.key()).isEqualTo("upstreams[0].oauth2.token-url");
            assertThat(p.message()).contains("https");
        });

        UpstreamConfig local = upstream("""
                  - name: m365
                    url: "smtp://smtp.office365.com:587"
                    username: relay@example.com
                    auth: xoauth2
                    oauth2: { token-url: "http://127.0.0.1:8080/token", client-id: a, client-secret: b }
                """);
        assertThat(local.oauth2().tokenUrl().getPort()).isEqualTo(8080);
    }

    @Test
    void oauth2WithoutXoauth2IsAnError() {
        List<ConfigProblem> problems = problems("""
                  - name: primary
                    url: "smtp://smtp.example.com"
                    username: u
                    password: p
                    oauth2: { token-url: "https://login.example.com/token", client-id: a, client-secret: b }
                """);

        assertThat(problems).singleElement().satisfies(p -> assertThat(p.key()).isEqualTo("upstreams[0].auth"));
    }

    @Test
    void oldConstructorFillsTheDefaults() {
        UpstreamConfig u = new UpstreamConfig("p", UpstreamUrl.parse("smtp://smtp.example.com"), null, null, null,
                null);

        assertThat(u.maxConnections()).isEqualTo(UpstreamConfig.DEFAULT_MAX_CONNECTIONS);
        assertThat(u.timeouts()).isEqualTo(UpstreamConfig.Timeouts.DEFAULT);
        assertThat(u.auth()).isEqualTo(UpstreamAuth.AUTO);
    }
}
