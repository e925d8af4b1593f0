package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HandoffConfigTest {
    @TempDir
    Path dir;

    private RelayConfig load(String extra, Map<String, String> env) {
        return ConfigLoader.load(Fixtures.write(dir, Fixtures.MINIMAL + "\n" + extra + "\n"), env).config();
    }

    private Path secret() throws IOException {
        return Files.writeString(dir.resolve("handoff.pw"), "s3cret\n");
    }

    @Test
    void offByDefaultAndNotPrinted() {
        RelayConfig c = load("", Map.of());
        assertThat(c.handoff().enabled()).isFalse();
        assertThat(c.toMaskedYaml()).doesNotContain("handoff");
    }

    @Test
    void everyKeyFromTheFileWithThePasswordMaskedInTheOutput() throws IOException {
        RelayConfig c = load("handoff: { to: smtps://relay.mail.svc:2465, user: handoff, password-file: " + secret()
                + ", trust: /etc/relay/peer.pem, timeout: 45s, max-hops: 2 }", Map.of());
        HandoffConfig h = c.handoff();
        assertThat(h.enabled()).isTrue();
        assertThat(h.to().host()).isEqualTo("relay.mail.svc");
        assertThat(h.to().port()).isEqualTo(2465);
        assertThat(h.tls()).isEqualTo(TlsMode.IMPLICIT);
        assertThat(h.user()).isEqualTo("handoff");
        assertThat(h.password()).isEqualTo("s3cret");
        assertThat(h.trust()).isEqualTo(Path.of("/etc/relay/peer.pem"));
        assertThat(h.timeout()).isEqualTo(Duration.ofSeconds(45));
        assertThat(h.maxHops()).isEqualTo(2);
        assertThat(c.toMaskedYaml()).contains("handoff:", "to: smtps://relay.mail.svc:2465", "password: '****'")
                .doesNotContain("s3cret");
        assertThat(h.toString()).doesNotContain("s3cret");
    }

    @Test
    void fromTheEnvironment() throws IOException {
        HandoffConfig h = load("", Map.of("RELAY_HANDOFF_TO", "smtp://peer.example:587", "RELAY_HANDOFF_USER", "ho",
                "RELAY_HANDOFF_PASSWORD_FILE", secret().toString(), "RELAY_HANDOFF_TIMEOUT", "20s")).handoff();
        assertThat(h.to().toString()).isEqualTo("smtp://peer.example:587");
        assertThat(h.tls()).isEqualTo(TlsMode.STARTTLS);
        assertThat(h.user()).isEqualTo("ho");
        assertThat(h.timeout()).isEqualTo(Duration.ofSeconds(20));
        assertThat(h.maxHops()).isEqualTo(HandoffConfig.DEFAULT_MAX_HOPS);
    }

    @Test
    void aPeerNeedsCredentialsAndTlsOffLoopback() {
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> load("handoff: { to: smtp://peer.example:587, tls: none }", Map.of()));
        assertThat(e.problems()).extracting(ConfigProblem::key)
                .containsExactlyInAnyOrder("handoff.user", "handoff.password-file", "handoff.tls");
        assertThat(e.problems()).allSatisfy(p -> assertThat(p.message()).contains("RELAY_HANDOFF_", "handoff."));
    }

    @Test
    void badValuesNameTheKey() throws IOException {
        String base = "handoff: { to: smtps://peer:2465, user: u, password-file: " + secret();
        assertThat(catchThrowableOfType(ConfigException.class, () -> load(base + ", timeout: 0s }", Map.of()))
                .problems()).singleElement().satisfies(p -> assertThat(p.key()).isEqualTo("handoff.timeout"));
        assertThat(catchThrowableOfType(ConfigException.class, () -> load(base + ", max-hops: 50 }", Map.of()))
                .problems()).singleElement().satisfies(p -> assertThat(p.key()).isEqualTo("handoff.max-hops"));
        assertThat(catchThrowableOfType(ConfigException.class,
                () -> load("handoff: { to: ftp://peer }", Map.of())).problems())
                .anySatisfy(p -> assertThat(p.key()).isEqualTo("handoff.to"));
        assertThat(catchThrowableOfType(ConfigException.class,
                () -> load("handoff: { user: u }", Map.of())).problems())
                .singleElement().satisfies(p -> assertThat(p.key()).isEqualTo("handoff.to"));
    }
}
