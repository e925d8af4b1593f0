package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MaskingTest {
    @TempDir
    Path dir;

    @Test
    void toStringNeverContainsThePassword() {
        RelayConfig c = ConfigLoader.load(Fixtures.write(dir, Fixtures.FULL), Map.of()).config();
        assertThat(c.toString()).doesNotContain("s3cret-Pa55", "other-Secret").contains("password=****");
        assertThat(c.upstreams().get(0).toString()).doesNotContain("s3cret-Pa55");
    }

    @Test
    void maskedYamlNeverContainsThePassword() throws Exception {
        Path secret = Files.writeString(dir.resolve("pw"), "file-Secret\n");
        RelayConfig c = ConfigLoader.load(Fixtures.write(dir, Fixtures.FULL),
                Map.of("RELAY_UPSTREAMS_2_URL", "smtps://u@smtp.example.org",
                        "RELAY_UPSTREAMS_2_PASSWORD_FILE", secret.toString())).config();
        String yaml = c.toMaskedYaml();
        assertThat(yaml).doesNotContain("s3cret-Pa55", "other-Secret", "file-Secret", secret.toString())
                .contains("password: '****'");
    }

    @Test
    void maskedYamlLoadsBackToTheSameConfiguration() throws Exception {
        RelayConfig c = ConfigLoader.load(Fixtures.write(dir, Fixtures.FULL), Map.of()).config();
        String yaml = c.toMaskedYaml();
        Path again = Files.writeString(dir.resolve("again.yaml"), yaml);

        RelayConfig reloaded = ConfigLoader.load(again, Map.of()).config();

        assertThat(reloaded).usingRecursiveComparison().ignoringFields("upstreams.password").isEqualTo(c);
        assertThat(reloaded.upstreams()).extracting(UpstreamConfig::password).containsOnly("****");
        assertThat(yaml).contains("hostname: relay.example.com", "min-backoff: 30s", "bind: \"[::1]:2525\"");
    }

    @Test
    void aYamlSyntaxErrorDoesNotQuoteTheFile() {
        String yaml = Fixtures.FULL.replace("password: s3cret-Pa55", "password: s3cret-Pa55\n     - x: : y");
        try {
            ConfigLoader.load(Fixtures.write(dir, yaml), Map.of());
        } catch (ConfigException e) {
            assertThat(e.getMessage()).contains("line 16", "not valid YAML").doesNotContain("s3cret-Pa55");
            return;
        }
        throw new AssertionError("expected a ConfigException");
    }

    @Test
    void problemsNeverShowASecret() throws Exception {
        String yaml = Fixtures.FULL.replace("\"smtp://apikey@smtp.sendgrid.net:587\"",
                "\"smtp://apikey:s3cret-Pa55@smtp.sendgrid.net:587\"").replace("    password: s3cret-Pa55\n", "");
        try {
            ConfigLoader.load(Fixtures.write(dir, yaml), Map.of("RELAY_UPSTREAMS_0_PASSWROD", "typo-Secret"));
        } catch (ConfigException e) {
            assertThat(e.getMessage()).doesNotContain("s3cret-Pa55", "typo-Secret")
                    .contains("smtp://apikey:****@smtp.sendgrid.net:587");
            return;
        }
        throw new AssertionError("expected a ConfigException");
    }
}
