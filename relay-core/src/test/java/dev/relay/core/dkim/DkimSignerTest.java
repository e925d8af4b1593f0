package dev.relay.core.dkim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.relay.config.DkimConfig;
import dev.relay.config.DkimConfig.Algorithm;
import dev.relay.core.tls.Pem;
import dev.relay.testkit.DkimVerifier;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue #21: keys are read and checked (RFC 8463's example key among them); signatures verify with dkimpy. */
class DkimSignerTest {
    /** RFC 8463 appendix A: the Ed25519 secret key and its public key. */
    private static final String RFC_SEED = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
    private static final String RFC_PUBLIC = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    private static final String MESSAGE = "From: Joe SixPack <joe@football.example.com>\r\n"
            + "To: Suzie Q <suzie@shopping.example.net>\r\n"
            + "Subject: Is dinner ready?\r\n"
            + "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
            + "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
            + "\r\n"
            + "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n";
    private static final InstantSource CLOCK = InstantSource.fixed(Instant.parse("2026-12-04T12:00:00Z"));

    @TempDir
    Path dir;

    private Path rfcKey() throws Exception {
        byte[] der = HexFormat.of().parseHex("302e020100300506032b657004220420");
        byte[] pkcs8 = new byte[der.length + 32];
        System.arraycopy(der, 0, pkcs8, 0, der.length);
        System.arraycopy(Base64.getDecoder().decode(RFC_SEED), 0, pkcs8, der.length, 32);
        return pem("PRIVATE KEY", pkcs8);
    }

    private Path pem(String type, byte[] der) throws Exception {
        Path file = Files.createTempFile(dir, "key", ".pem");
        Files.writeString(file, "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder().encodeToString(der)
                + "\n-----END " + type + "-----\n");
        return file;
    }

    private Path generated(String algorithm, int bits) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
        if (bits > 0) {
            g.initialize(bits);
        }
        return pem("PRIVATE KEY", g.generateKeyPair().getPrivate().getEncoded());
    }

    private static DkimConfig config(Path key, Algorithm algorithm) {
        return new DkimConfig("football.example.com", "brisbane", key, algorithm, List.of());
    }

    @Test
    void theRfc8463KeyGivesItsPublishedPublicKey() throws Exception {
        DkimKey key = DkimKey.load(rfcKey(), Algorithm.ED25519_SHA256);
        assertThat(key.publicKey()).isEqualTo(RFC_PUBLIC);
        assertThat(key.dnsRecord()).isEqualTo("v=DKIM1; k=ed25519; p=" + RFC_PUBLIC);
    }

    @Test
    void ed25519SignaturesVerifyWithDkimpy() throws Exception {
        DkimSigner signer = DkimSigner.load(config(rfcKey(), Algorithm.ED25519_SHA256), CLOCK);
        assertSigned(signer, MESSAGE, "v=DKIM1; k=ed25519; p=" + RFC_PUBLIC);
    }

    @Test
    void rsaSignaturesVerifyWithDkimpy() throws Exception {
        Path file = generated("RSA", 2048);
        DkimSigner signer = DkimSigner.load(config(file, Algorithm.RSA_SHA256), CLOCK);
        assertThat(signer.warning()).isNull();
        assertSigned(signer, MESSAGE, DkimKey.load(file, Algorithm.RSA_SHA256).dnsRecord());
    }

    @Test
    void aMessyMessageStillVerifies() throws Exception {
        String messy = "Received: from x\r\n\tby y\r\n  with z\r\nfrom:  Joe \t <joe@football.example.com>  \r\nSUBJECT: a very\r\n"
                + "\tlong,  folded\r\n  subject\r\nTo: a@x.org\r\nTo: b@x.org\r\nX-Other: 1\r\n\r\n"
                + "  indented   line  \r\n.leading dot\r\ntrailing white space \t \r\n\r\n\r\n";
        Path file = generated("RSA", 1024);
        DkimSigner signer = DkimSigner.load(config(file, Algorithm.RSA_SHA256), CLOCK);
        assertThat(signer.warning()).contains("1024 bits", "2048");
        String field = assertSigned(signer, messy, DkimKey.load(file, Algorithm.RSA_SHA256).dnsRecord());
        assertThat(field).contains("h=from:to:to:subject:from;", "t=" + CLOCK.instant().getEpochSecond())
                .doesNotContain("received", "x-other");
        assertThat(field).contains("bh=" + bodyHash("  indented   line  \r\n.leading dot\r\ntrailing white space"));
    }

    /** The relaxed body hash of {@code body}, as dkimpy would compute it over that body alone. */
    private static String bodyHash(String body) throws Exception {
        Relaxed r = new Relaxed(java.security.MessageDigest.getInstance("SHA-256"));
        byte[] b = body.getBytes(StandardCharsets.US_ASCII);
        r.update(b, 0, b.length);
        return Base64.getEncoder().encodeToString(r.finish());
    }

    private static String assertSigned(DkimSigner signer, String message, String record) throws Exception {
        byte[] field = signer.sign(new ByteArrayInputStream(message.getBytes(StandardCharsets.ISO_8859_1)));
        String signed = new String(field, StandardCharsets.ISO_8859_1) + message;
        assertThat(signed).startsWith("DKIM-Signature: v=1; a=" + signer.config().algorithm().key()
                + "; c=relaxed/relaxed;\r\n\td=football.example.com; s=brisbane;\r\n\tt=");
        assertThat(signed.lines()).allSatisfy(l -> assertThat(l.length()).isLessThanOrEqualTo(78));
        DkimVerifier.Verdict v = Dkimpy.verify(signed.getBytes(StandardCharsets.ISO_8859_1), record);
        assertThat(v.pass()).as(v.log()).isTrue();
        assertThat(v.asked()).isEqualTo("brisbane._domainkey.football.example.com.");
        // and a changed body or From fails: the verifier is not saying pass to everything
        DkimVerifier.Verdict changed = Dkimpy.verify(signed.replace("Joe", "Jim").getBytes(StandardCharsets.ISO_8859_1),
                record);
        assertThat(changed.pass()).as(changed.log()).isFalse();
        return new String(field, StandardCharsets.ISO_8859_1);
    }

    @Test
    void badKeysAreRefusedWithTheFileAndTheFix() throws Exception {
        assertThatThrownBy(() -> DkimKey.load(dir.resolve("none.pem"), Algorithm.RSA_SHA256))
                .hasMessageContaining("none.pem does not exist");
        Path garbage = Files.writeString(dir.resolve("garbage.pem"), "not a key\n");
        assertThatThrownBy(() -> DkimKey.load(garbage, Algorithm.RSA_SHA256))
                .hasMessageContaining("cannot read a private key from " + garbage).hasMessageContaining("PKCS#8");
        Path rsa = generated("RSA", 2048);
        assertThatThrownBy(() -> DkimKey.load(rsa, Algorithm.ED25519_SHA256))
                .hasMessageContaining("is a RSA key, not one for ed25519-sha256")
                .hasMessageContaining("openssl genpkey -algorithm ed25519");
        assertThatThrownBy(() -> DkimKey.load(rfcKey(), Algorithm.RSA_SHA256))
                .hasMessageContaining("not one for rsa-sha256");
        Path small = generated("RSA", 512);
        assertThatThrownBy(() -> DkimKey.load(small, Algorithm.RSA_SHA256))
                .hasMessageContaining("has 512 bits: DKIM needs at least 1024");
        Path ec = generated("EC", 256);
        assertThatThrownBy(() -> DkimKey.load(ec, Algorithm.ED25519_SHA256)).hasMessageContaining("not one for");
    }

    @Test
    void aPkcs1RsaKeyIsRead() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        PrivateKey key = g.generateKeyPair().getPrivate();
        String pkcs1 = Pem.encode(key);
        assertThat(pkcs1).startsWith("-----BEGIN RSA PRIVATE KEY-----");
        Path file = Files.writeString(dir.resolve("pkcs1.pem"), pkcs1);
        assertThat(DkimKey.load(file, Algorithm.RSA_SHA256).toString()).isEqualTo("DkimKey[rsa-sha256, 2048 bits]");
    }

    @Test
    void aSignedFieldTooLongIsRefused() throws Exception {
        DkimSigner signer = DkimSigner.load(config(rfcKey(), Algorithm.ED25519_SHA256), CLOCK);
        String huge = "Subject: x\r\n" + " y\r\n".repeat(DkimSigner.MAX_FIELD / 4) + "\r\nbody\r\n";
        assertThatThrownBy(() -> signer.sign(new ByteArrayInputStream(huge.getBytes(StandardCharsets.US_ASCII))))
                .hasMessageContaining("header field to sign is longer than 256 KiB");
    }
}
