package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue #21: {@code routes[].dkim}, bound, checked, printed without the key, and overridable from the environment. */
class DkimConfigTest {
    private static final String ROUTE = "routes:\n  - name: signed\n    senders: [\"*\"]\n    upstreams: [primary]\n";

    @TempDir
    Path dir;

    /** The configuration of the minimal file plus one route with {@code routeLines} (YAML under the route). */
    private RelayConfig config(String routeLines, Map<String, String> env) {
        Path file = Fixtures.write(dir, Fixtures.MINIMAL + ROUTE + routeLines);
        return ConfigLoader.load(file, env).config();
    }

    /** The problems of the route with {@code dkim} (YAML lines under the route). */
    private List<ConfigProblem> problems(String dkim) {
        Path file = Fixtures.write(dir, Fixtures.MINIMAL + ROUTE + dkim);
        return catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(file, Map.of())).problems();
    }

    @Test
    void everyKeyIsBound() {
        DkimConfig d = config("""
                    dkim:
                      domain: example.com
                      selector: relay2026
                      key-file: /etc/relay/dkim.pem
                      algorithm: ed25519-sha256
                      headers: [From, Subject, Date]
                """, Map.of()).routes().get(0).dkim();
        assertThat(d).isEqualTo(new DkimConfig("example.com", "relay2026", Path.of("/etc/relay/dkim.pem"),
                DkimConfig.Algorithm.ED25519_SHA256, List.of("from", "subject", "date")));
    }

    @Test
    void theAlgorithmDefaultsToRsaAndTheHeadersToTheUsualSet() {
        DkimConfig d = config("    dkim: { domain: example.com, selector: s1, key-file: k.pem }\n", Map.of())
                .routes().get(0).dkim();
        assertThat(d.algorithm()).isEqualTo(DkimConfig.Algorithm.RSA_SHA256);
        assertThat(d.headers()).isEqualTo(DkimConfig.DEFAULT_HEADERS).contains("from", "subject", "date",
                "message-id", "content-type");
    }

    @Test
    void aRouteWithoutDkimHasNone() {
        assertThat(config("", Map.of()).routes().get(0).dkim()).isNull();
    }

    @Test
    void missingKeysAreNamedWithTheFix() {
        List<ConfigProblem> ps = problems("    dkim: { algorithm: rsa-sha256 }\n");

        assertThat(ps).extracting(ConfigProblem::key).containsExactly("routes[0].dkim.domain",
                "routes[0].dkim.selector", "routes[0].dkim.key-file");
        assertThat(ps).extracting(ConfigProblem::message).satisfiesExactly(
                m -> assertThat(m).contains("e.g. example.com"), m -> assertThat(m).contains("._domainkey."),
                m -> assertThat(m).contains("openssl genpkey"));
    }

    @Test
    void badValuesAreNamed() {
        List<ConfigProblem> ps = problems("    dkim: { domain: \"exa mple\", selector: \"s_1\", key-file: k.pem,"
                + " algorithm: rsa-sha1, headers: [subject, \"to:\"] }\n");

        assertThat(ps).extracting(ConfigProblem::key).containsExactly("routes[0].dkim.algorithm",
                "routes[0].dkim.domain", "routes[0].dkim.selector", "routes[0].dkim.headers[1]",
                "routes[0].dkim.headers");
        assertThat(ps.get(0).message()).contains("use rsa-sha256 or ed25519-sha256");
        assertThat(ps.get(4).message()).contains("add from");
    }

    @Test
    void printedWithTheKeyFileNameOnlyAndLoadsBack() {
        RelayConfig c = config("    dkim: { domain: example.com, selector: s1, key-file: /keys/dkim.pem }\n", Map.of());
        String yaml = c.toMaskedYaml();
        assertThat(yaml).contains("dkim:", "domain: example.com", "selector: s1", "key-file: /keys/dkim.pem",
                "algorithm: rsa-sha256");
        assertThat(ConfigLoader.load(Fixtures.write(dir, yaml), Map.of()).config().routes()).isEqualTo(c.routes());
    }

    @Test
    void theEnvironmentSetsAKey() {
        DkimConfig d = config("    dkim: { domain: example.com, selector: s1, key-file: k.pem }\n",
                Map.of("RELAY_ROUTES_0_DKIM_SELECTOR", "s2")).routes().get(0).dkim();
        assertThat(d.selector()).isEqualTo("s2");
    }
}
