package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ValidationTest {
    @TempDir
    Path dir;

    private LoadedConfig load(String yaml) {
        return ConfigLoader.load(Fixtures.write(dir, yaml), Map.of());
    }

    private List<ConfigProblem> problems(String yaml) {
        return catchThrowableOfType(ConfigException.class, () -> load(yaml)).problems();
    }

    private ConfigProblem problem(String yaml) {
        List<ConfigProblem> problems = problems(yaml);
        assertThat(problems).hasSize(1);
        return problems.get(0);
    }

    private static String minimalWith(String from, String to) {
        assertThat(Fixtures.MINIMAL).contains(from);
        return Fixtures.MINIMAL.replace(from, to);
    }

    @Test
    void atLeastOneListenerIsRequired() {
        ConfigProblem p = problem(minimalWith("  - { name: submission, bind: \"0.0.0.0:587\" }\n", "  []\n")
                .replace("listeners:\n  []", "listeners: []"));
        assertThat(p.key()).isEqualTo("listeners");
        assertThat(p.message()).contains("at least one listener");
    }

    @Test
    void listenerNamesAreUnique() {
        ConfigProblem p = problem(minimalWith("  - { name: submission, bind: \"0.0.0.0:587\" }",
                "  - { name: submission, bind: \"0.0.0.0:587\" }\n  - { name: submission, bind: \"0.0.0.0:465\" }"));
        assertThat(p.key()).isEqualTo("listeners[1].name");
        assertThat(p.message()).contains("already used by listeners[0]");
    }

    @Test
    void aBindMustParse() {
        ConfigProblem p = problem(minimalWith("0.0.0.0:587", "0.0.0.0"));
        assertThat(p.key()).isEqualTo("listeners[0].bind");
        assertThat(p.value()).isEqualTo("0.0.0.0");
        assertThat(p.message()).contains("port is missing", "line 2");
    }

    @Test
    void aBindPortIsWithinRange() {
        assertThat(problem(minimalWith("0.0.0.0:587", "0.0.0.0:70000")).message()).contains("1 to 65535");
        assertThat(problem(minimalWith("0.0.0.0:587", "0.0.0.0:0")).message()).contains("1 to 65535");
    }

    @Test
    void twoListenersCannotShareAnAddress() {
        ConfigProblem p = problem(minimalWith("  - { name: submission, bind: \"0.0.0.0:587\" }",
                "  - { name: a, bind: \"0.0.0.0:587\" }\n  - { name: b, bind: \"0.0.0.0:587\" }"));
        assertThat(p.key()).isEqualTo("listeners[1].bind");
    }

    @Test
    void aTlsListenerNeedsCertificateAndKey() {
        List<ConfigProblem> problems = problems(minimalWith(
                "tls: { cert: /etc/relay/tls.crt, key: /etc/relay/tls.key }\n", ""));
        assertThat(problems).singleElement().satisfies(p -> {
            assertThat(p.key()).isEqualTo("listeners[0].tls");
            assertThat(p.message()).contains("set tls.cert and tls.key");
        });
    }

    @Test
    void aCertificateWithoutKeyIsAnError() {
        ConfigProblem p = problem(minimalWith("tls: { cert: /etc/relay/tls.crt, key: /etc/relay/tls.key }",
                "tls: { cert: /etc/relay/tls.crt }"));
        assertThat(p.key()).isEqualTo("tls.key");
    }

    @Test
    void anUnknownTlsModeIsAnError() {
        ConfigProblem p = problem(minimalWith("bind: \"0.0.0.0:587\"", "bind: \"0.0.0.0:587\", tls: ssl"));
        assertThat(p.key()).isEqualTo("listeners[0].tls");
        assertThat(p.message()).contains("use starttls, implicit or none");
    }

    @Test
    void aListenerWithoutTlsOnANonLoopbackAddressIsAnError() {
        ConfigProblem p = problem(minimalWith("bind: \"0.0.0.0:587\"", "bind: \"0.0.0.0:25\", tls: none"));
        assertThat(p.key()).isEqualTo("listeners[0].tls");
        assertThat(p.message()).contains("only allowed on a loopback address");
    }

    @Test
    void aListenerWithoutTlsOnLoopbackIsAWarning() {
        for (String bind : List.of("127.0.0.1:2525", "[::1]:2525", "localhost:2525")) {
            LoadedConfig loaded = load(minimalWith("bind: \"0.0.0.0:587\"", "bind: \"" + bind + "\", tls: none"));
            assertThat(loaded.warnings()).singleElement().asString().contains("without TLS");
        }
    }

    @Test
    void atLeastOneUpstreamIsRequired() {
        ConfigProblem p = problem(minimalWith("upstreams:\n  - { name: primary, url: \"smtp://smtp.example.com\" }",
                "upstreams: []"));
        assertThat(p.key()).isEqualTo("upstreams");
    }

    @Test
    void anUpstreamSchemeIsSmtpOrSmtps() {
        ConfigProblem p = problem(minimalWith("smtp://smtp.example.com", "http://smtp.example.com"));
        assertThat(p.key()).isEqualTo("upstreams[0].url");
        assertThat(p.message()).contains("use smtp:// (STARTTLS) or smtps:// (implicit TLS)");
    }

    @Test
    void port25IsRefusedWithTheExactText() {
        ConfigProblem p = problem(minimalWith("smtp://smtp.example.com", "smtp://smtp.example.com:25"));
        assertThat(p.key()).isEqualTo("upstreams[0].url");
        assertThat(p.value()).isEqualTo("smtp://smtp.example.com:25");
        assertThat(p.message())
                .isEqualTo("port 25 is never used: use the provider's submission port 587, 465 or 2525");
    }

    @Test
    void anUpstreamWithoutTlsOnANonLoopbackHostIsAnError() {
        ConfigProblem p = problem(minimalWith("url: \"smtp://smtp.example.com\"",
                "url: \"smtp://smtp.example.com\", tls: none"));
        assertThat(p.key()).isEqualTo("upstreams[0].tls");
        assertThat(p.message()).contains("only allowed for a loopback host");
    }

    @Test
    void anUpstreamWithoutTlsOnLoopbackIsAWarning() {
        for (String host : List.of("127.0.0.1", "[::1]", "localhost")) {
            LoadedConfig loaded = load(minimalWith("url: \"smtp://smtp.example.com\"",
                    "url: \"smtp://" + host + ":3025\", tls: none"));
            assertThat(loaded.warnings()).singleElement().asString().contains("upstreams[0]", "without TLS");
        }
    }

    @Test
    void aUserInTheUrlAndADifferentUsernameConflict() {
        ConfigProblem p = problem(minimalWith("url: \"smtp://smtp.example.com\"",
                "url: \"smtp://a@smtp.example.com\", username: b, password: x"));
        assertThat(p.key()).isEqualTo("upstreams[0].username");
        assertThat(p.message()).contains("not both");
    }

    @Test
    void aUsernameNeedsAPassword() {
        ConfigProblem p = problem(minimalWith("url: \"smtp://smtp.example.com\"", "url: \"smtp://a@smtp.example.com\""));
        assertThat(p.key()).isEqualTo("upstreams[0].password");
        assertThat(p.message()).contains("needs a password", "password-file");
    }

    @Test
    void passwordAndPasswordFileTogetherAreAnError() {
        ConfigProblem p = problem(minimalWith("url: \"smtp://smtp.example.com\"",
                "url: \"smtp://a@smtp.example.com\", password: x, password-file: /run/secrets/pw"));
        assertThat(p.key()).isEqualTo("upstreams[0].password-file");
        assertThat(p.message()).contains("keep one");
    }

    @Test
    void anUnreadablePasswordFileIsAnErrorNamingTheFile() {
        String missing = dir.resolve("no-such-secret").toString();
        ConfigProblem p = problem(minimalWith("url: \"smtp://smtp.example.com\"",
                "url: \"smtp://a@smtp.example.com\", password-file: " + missing));
        assertThat(p.key()).isEqualTo("upstreams[0].password-file");
        assertThat(p.value()).isEqualTo(missing);
        assertThat(p.message()).contains(missing, "does not exist");
    }

    @Test
    void aPasswordInTheUrlIsRefusedAndMasked() {
        ConfigProblem p = problem(minimalWith("smtp://smtp.example.com", "smtp://u:hunter2@smtp.example.com"));
        assertThat(p.key()).isEqualTo("upstreams[0].url");
        assertThat(p.toString()).doesNotContain("hunter2");
        assertThat(p.message()).contains("password-file");
    }

    @Test
    void theSpoolDirectoryIsRequired() {
        ConfigProblem p = problem(minimalWith("spool: { dir: /var/spool/relay }\n", ""));
        assertThat(p.key()).isEqualTo("spool.dir");
        assertThat(p.message()).contains("RELAY_SPOOL_DIR");
    }

    @Test
    void durationsArePositive() {
        ConfigProblem p = problem(Fixtures.MINIMAL + "queue: { retry-delay: 0s }\n");
        assertThat(p.key()).isEqualTo("queue.retry-delay");
        assertThat(p.message()).contains("positive");
        assertThat(problem(Fixtures.MINIMAL + "queue: { retry-delay: PT-5S }\n").key())
                .isEqualTo("queue.retry-delay");
    }

    @Test
    void aCidrPrefixLengthIsWithinRange() {
        ConfigProblem p = problem(minimalWith("auth: { users-file: /etc/relay/users }",
                "auth: { trusted-networks: [\"10.0.0.0/8\", \"10.0.0.0/33\"] }"));
        assertThat(p.key()).isEqualTo("auth.trusted-networks[1]");
        assertThat(p.value()).isEqualTo("10.0.0.0/33");
        assertThat(p.message()).contains("/0 to /32");
    }

    @Test
    void aHostNameIsNotANetwork() {
        ConfigProblem p = problem(minimalWith("auth: { users-file: /etc/relay/users }",
                "auth: { trusted-networks: [intranet.example.com] }"));
        assertThat(p.message()).contains("not an IP address");
    }

    @Test
    void theRelayIsNeverAnOpenRelay() {
        ConfigProblem p = problem(minimalWith("auth: { users-file: /etc/relay/users }",
                "auth: { trusted-networks: [] }"));
        assertThat(p.key()).isEqualTo("auth");
        assertThat(p.message()).isEqualTo(
                "the relay is never an open relay: configure auth.users-file or auth.trusted-networks");
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"0.0.0.0/0", "::/0", "0.0.0.0/1", "128.0.0.0/7",
        "2000::/3", "::/6"})
    void aTrustedNetworkThatCoversTheInternetIsAnOpenRelayAndRefused(String network) {
        ConfigProblem p = problem(minimalWith("auth: { users-file: /etc/relay/users }",
                "auth: { users-file: /etc/relay/users, trusted-networks: [\"10.0.0.0/8\", \"" + network + "\"] }"));
        assertThat(p.key()).isEqualTo("auth.trusted-networks[1]");
        assertThat(p.value()).isEqualTo(network);
        assertThat(p.message()).contains("open relay").contains("auth.i-am-an-open-relay: true")
                .contains("list only your own networks");
    }

    @Test
    void anOpenRelayNetworkIsAcceptedOnlyWithTheLoudOverrideAndWarnedAbout() {
        LoadedConfig c = load(minimalWith("auth: { users-file: /etc/relay/users }",
                "auth: { users-file: /etc/relay/users, trusted-networks: [\"0.0.0.0/0\"], i-am-an-open-relay: true }"));
        assertThat(c.config().auth().iAmAnOpenRelay()).isTrue();
        assertThat(c.warnings()).anySatisfy(w -> assertThat(w).contains("auth.i-am-an-open-relay")
                .contains("0.0.0.0/0"));
    }

    @Test
    void privateNetworksOfPrefixEightAndUlaAreNotAnOpenRelay() {
        LoadedConfig c = load(minimalWith("auth: { users-file: /etc/relay/users }",
                "auth: { users-file: /etc/relay/users, trusted-networks: [\"10.0.0.0/8\", \"fc00::/7\"] }"));
        assertThat(c.config().auth().trustedNetworks()).hasSize(2);
    }

    @Test
    void allProblemsAreReportedTogether() {
        String yaml = """
                listeners:
                  - { name: a, bind: "0.0.0.0" }
                  - { name: a, bind: "0.0.0.0:465", tls: none }
                auth: { trusted-networks: ["10.0.0.0/33"] }
                queue: { retry-delay: forever }
                upstreams:
                  - { name: primary, url: "smtp://smtp.example.com:25" }
                  - { name: second, url: "ftp://x" }
                colour: blue
                """;
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> load(yaml));
        assertThat(e.problems()).extracting(ConfigProblem::key).containsExactlyInAnyOrder(
                "colour", "listeners[0].bind", "auth.trusted-networks[0]", "queue.retry-delay",
                "upstreams[1].url", "listeners[1].name", "listeners[0].tls", "listeners[1].tls",
                "spool.dir", "upstreams[0].url");
        assertThat(e.getMessage().lines()).hasSize(e.problems().size() + 1);
        assertThat(e.getMessage()).startsWith("invalid configuration (10 problems):");
    }
}
