package dev.relay.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.ConfigLoader;
import dev.relay.config.RelayConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue #21: {@code relay check-config} reads each route's DKIM key (a bad one fails naming the key and the fix,
 * a short RSA one is a warning), shows the route's DKIM settings and never the key; a reload re-reads the keys.
 */
class CheckConfigDkimTest {
    @TempDir
    Path dir;

    private Path rsaKey(int bits) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(bits);
        String body = Base64.getMimeEncoder().encodeToString(g.generateKeyPair().getPrivate().getEncoded());
        return Files.writeString(dir.resolve("dkim-" + bits + ".pem"),
                "-----BEGIN PRIVATE KEY-----\n" + body + "\n-----END PRIVATE KEY-----\n");
    }

    private Path config(Path key, String algorithm) throws Exception {
        return Files.writeString(dir.resolve("relay.yaml"), """
                listeners: [{ name: local, bind: "127.0.0.1:10997", tls: none }]
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s" }
                upstreams: [{ name: primary, url: "smtp://127.0.0.1:2600", tls: none }]
                routes:
                  - name: signed
                    senders: ["*"]
                    upstreams: [primary]
                    dkim: { domain: example.com, selector: relay2026, key-file: "%s", algorithm: %s }
                """.formatted(dir.resolve("spool"), key, algorithm));
    }

    @Test
    void aGoodKeyIsCheckedAndTheSettingsShownWithoutIt() throws Exception {
        Path key = rsaKey(2048);
        CliRun r = CliRun.of(config(key, "rsa-sha256"));

        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("dkim:", "domain: example.com", "selector: relay2026", "key-file: " + key,
                "algorithm: rsa-sha256").doesNotContain("PRIVATE KEY", Files.readString(key).substring(28, 60));
        assertThat(r.err()).doesNotContain("dkim").contains("configuration OK");
    }

    @Test
    void aShortRsaKeyIsAWarning() throws Exception {
        CliRun r = CliRun.of(config(rsaKey(1024), "rsa-sha256"));

        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.err()).contains("warning: routes[0].dkim.key-file: the RSA key in", "has 1024 bits; 2048 or "
                + "more are recommended", "rsa_keygen_bits:2048");
    }

    @Test
    void aKeyOfTheWrongAlgorithmOrAMissingFileFailsNamingTheKey() throws Exception {
        CliRun wrong = CliRun.of(config(rsaKey(2048), "ed25519-sha256"));
        assertThat(wrong.status()).isEqualTo(2);
        assertThat(wrong.err()).contains("routes[0].dkim.key-file: the key in ", "is a RSA key, not one for "
                + "ed25519-sha256", "openssl genpkey -algorithm ed25519");

        CliRun missing = CliRun.of(config(dir.resolve("none.pem"), "rsa-sha256"));
        assertThat(missing.status()).isEqualTo(2);
        assertThat(missing.err()).contains("routes[0].dkim.key-file: the key file " + dir.resolve("none.pem")
                + " does not exist");
    }

    @Test
    void aReloadAppliesSigningRoutesAgainSoThatARotatedKeyIsRead() throws Exception {
        Path file = config(rsaKey(2048), "rsa-sha256");
        RelayConfig running = ConfigLoader.load(file, Map.of()).config();
        RelayConfig same = ConfigLoader.load(file, Map.of()).config();

        ReloadPlan plan = ReloadPlan.between(running, same);

        assertThat(plan.routes()).isEqualTo(same.routes());
        assertThat(plan.upstreams()).isNull();
    }

    @Test
    void dkimRecordPrintsTheTxtRecordToPublish() throws Exception {
        Path key = rsaKey(2048);
        CliRun r = CliRun.of("dkim-record", "--key-file", key.toString(), "--selector", "relay2026", "--domain",
                "example.com");

        assertThat(r.status()).as(r.err()).isZero();
        String p = dev.relay.core.dkim.DkimKey.load(key, dev.relay.config.DkimConfig.Algorithm.RSA_SHA256)
                .publicKey();
        assertThat(r.out()).startsWith("relay2026._domainkey.example.com. IN TXT ( \"v=DKIM1; k=rsa; p=")
                .endsWith("\" )\n");
        assertThat(r.out().replaceAll("\" \"", "")).contains("p=" + p + "\"");
        assertThat(r.out().split("\"")[1].length()).isEqualTo(255); // strings of at most 255 characters

        CliRun wrong = CliRun.of("dkim-record", "--key-file", key.toString(), "--selector", "s", "--domain",
                "example.com", "--algorithm", "ed25519-sha256");
        assertThat(wrong.status()).isEqualTo(2);
        assertThat(wrong.err()).contains("relay dkim-record: the key in", "not one for ed25519-sha256");
    }
}
