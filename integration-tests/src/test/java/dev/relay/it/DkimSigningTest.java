package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.ConfigLoader;
import dev.relay.config.DkimConfig;
import dev.relay.config.RelayConfig;
import dev.relay.core.dkim.DkimKey;
import dev.relay.testkit.DkimVerifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue #21 through the whole relay: a message submitted over SMTP to a route with {@code rewrite-from} and
 * {@code dkim} arrives at the smarthost signed, and dkimpy verifies the signature over the rewritten message.
 */
class DkimSigningTest {
    @TempDir
    Path dir;

    @Test
    void aSubmittedMessageArrivesSignedAfterItsFromRewrite() throws Exception {
        String python = RequiredTool.dkimpy();
        TestRelay setup = new TestRelay(dir);
        int sinkPort = Loopback.freePort();
        Path key = dir.resolve("dkim.pem");
        Files.writeString(key, "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder().encodeToString(
                KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        setup.config("smtp://relay@127.0.0.1:" + sinkPort, "sink-secret", setup.cert, Duration.ofMinutes(1));
        Path file = Files.writeString(dir.resolve("relay.yaml"), """
                routes:
                  - name: signed
                    senders: ["*"]
                    upstreams: [primary]
                    rewrite-from: "@verified.example.net"
                    dkim: { domain: verified.example.net, selector: relay2026, key-file: "%s",
                            algorithm: ed25519-sha256 }
                """.formatted(key), StandardOpenOption.APPEND);
        RelayConfig config = ConfigLoader.load(file, Map.of()).config();
        byte[] eml = Files.readAllBytes(setup.relayOneToSink(config, sinkPort, "signed on the way",
                "hello\r\n.dot\r\n", relay -> { }));
        String record = DkimKey.load(key, DkimConfig.Algorithm.ED25519_SHA256).dnsRecord();
        DkimVerifier.Verdict verdict = DkimVerifier.verify(python, eml, record);
        assertThat(verdict.pass()).as(verdict.log()).isTrue();
        assertThat(verdict.asked()).isEqualTo("relay2026._domainkey.verified.example.net.");
        assertThat(new String(eml, java.nio.charset.StandardCharsets.UTF_8)).contains("DKIM-Signature: v=1; "
                + "a=ed25519-sha256", "From: app@verified.example.net", "Subject: signed on the way");
    }
}
