package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TlsSniConfigTest {
    @TempDir
    Path dir;

    @Test
    void sniIsEmptyByDefault() throws Exception {
        RelayConfig c = ConfigLoader.load(Fixtures.write(dir, Fixtures.MINIMAL), Map.of()).config();
        assertThat(c.tls().sni()).isEmpty();
    }

    @Test
    void sniEntriesAreReadFromTheFileAndTheEnvironmentAndPrintBack() throws Exception {
        String yaml = Fixtures.MINIMAL + """
                tls:
                  cert: /etc/relay/tls.crt
                  key: /etc/relay/tls.key
                  sni:
                    - { names: ["mail.example.com", "*.example.org"], cert: /etc/relay/mail.crt, key: /etc/relay/mail.key }
                """;
        yaml = yaml.replaceFirst("(?m)^tls: \\{[^}]*}\\n", "");
        RelayConfig c = ConfigLoader.load(Fixtures.write(dir, yaml),
                Map.of("RELAY_TLS_SNI_1_NAMES", "other.example", "RELAY_TLS_SNI_1_CERT", "/o.crt",
                        "RELAY_TLS_SNI_1_KEY", "/o.key")).config();
        assertThat(c.tls().sni()).containsExactly(
                new TlsConfig.SniCertificate(List.of("mail.example.com", "*.example.org"),
                        Path.of("/etc/relay/mail.crt"), Path.of("/etc/relay/mail.key")),
                new TlsConfig.SniCertificate(List.of("other.example"), Path.of("/o.crt"), Path.of("/o.key")));
        RelayConfig again = ConfigLoader.load(Fixtures.write(dir, c.toMaskedYaml()), Map.of()).config();
        assertThat(again.tls()).isEqualTo(c.tls());
    }

    @Test
    void badSniEntriesAreProblemsNamingTheKey() throws Exception {
        String yaml = Fixtures.MINIMAL.replaceFirst("(?m)^tls: \\{[^}]*}\\n", "") + """
                tls:
                  cert: /etc/relay/tls.crt
                  key: /etc/relay/tls.key
                  sni:
                    - { names: ["mail.example.com", "*.*.example.org"], cert: /a.crt }
                    - { names: ["MAIL.example.com"], cert: /b.crt, key: /b.key }
                    - { cert: /c.crt, key: /c.key }
                """;
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> ConfigLoader.load(Fixtures.write(dir, yaml), Map.of()));
        assertThat(e.problems()).extracting(ConfigProblem::key).containsExactlyInAnyOrder(
                "tls.sni[0].names[1]", "tls.sni[0].key", "tls.sni[1].names[0]", "tls.sni[2].names");
    }
}
