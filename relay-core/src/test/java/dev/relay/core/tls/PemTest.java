package dev.relay.core.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.util.List;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PemTest {
    @TempDir
    Path dir;

    @Test
    void selfSignedCertificateRoundTripsThroughPemFiles() throws Exception {
        KeyMaterial km = SelfSignedCertificate.generate(List.of("localhost", "127.0.0.1"), Duration.ofDays(30));
        Path cert = Files.writeString(dir.resolve("tls.crt"), Pem.encode(km.leaf()));
        Path key = Files.writeString(dir.resolve("tls.key"), Pem.encode(new JcaPKCS8Generator(km.key(), null)));
        KeyMaterial read = Pem.readKeyMaterial(cert, key);
        assertThat(read.leaf()).isEqualTo(km.leaf());
        assertThat(read.key().getEncoded()).isEqualTo(km.key().getEncoded());
        assertThat(read.leaf().getSubjectAlternativeNames()).extracting(l -> (Object) l.get(1))
                .containsExactly((Object) "localhost", "127.0.0.1");
    }

    @Test
    void pkcs8AndPkcs1RsaKeysAreRead() throws Exception {
        KeyPairGenerator gen = KeyPairGenerator.getInstance("RSA");
        gen.initialize(2048);
        var pair = gen.generateKeyPair();
        Path pkcs1 = Files.writeString(dir.resolve("rsa1.key"), Pem.encode(pair)); // "RSA PRIVATE KEY"
        Path pkcs8 = Files.writeString(dir.resolve("rsa8.key"),
                Pem.encode(new JcaPKCS8Generator(pair.getPrivate(), null))); // "PRIVATE KEY"
        assertThat(Files.readString(pkcs1)).contains("BEGIN RSA PRIVATE KEY");
        assertThat(Files.readString(pkcs8)).contains("BEGIN PRIVATE KEY");
        assertThat(Pem.readPrivateKey(pkcs1).getEncoded()).isEqualTo(pair.getPrivate().getEncoded());
        assertThat(Pem.readPrivateKey(pkcs8).getEncoded()).isEqualTo(pair.getPrivate().getEncoded());
    }

    /** Made by {@code openssl ecparam -name prime256v1 -genkey -noout} and {@code openssl req -new -x509}. */
    private static final String OPENSSL_EC_KEY = """
            -----BEGIN EC PRIVATE KEY-----
            MHcCAQEEILzaAzSObjYZxXyZLJzvZShvrdNeyBdNSgTvlcys5ED2oAoGCCqGSM49
            AwEHoUQDQgAEgzyo4ngHOvcL+GhNIzYSSzDHaLuk7ZKkQ7yKH1Y+1sssavwBJLAG
            d6DTNhwRqQ6H/n7TkftNpkSexDrwfaNC1g==
            -----END EC PRIVATE KEY-----
            """;
    private static final String OPENSSL_EC_CERT = """
            -----BEGIN CERTIFICATE-----
            MIIBczCCARmgAwIBAgIUYf/SVmgsA1NDi8x5Y0JUKNeAtn4wCgYIKoZIzj0EAwIw
            DzENMAsGA1UEAwwEdGVzdDAeFw0yNjExMjMxNjUwMThaFw0zNjExMjAxNjUwMTha
            MA8xDTALBgNVBAMMBHRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASDPKji
            eAc69wv4aE0jNhJLMMdou6TtkqRDvIofVj7Wyyxq/AEksAZ3oNM2HBGpDof+ftOR
            +02mRJ7EOvB9o0LWo1MwUTAdBgNVHQ4EFgQUt/sVwn7MjpXYGJNP4tywMu5dpQgw
            HwYDVR0jBBgwFoAUt/sVwn7MjpXYGJNP4tywMu5dpQgwDwYDVR0TAQH/BAUwAwEB
            /zAKBggqhkjOPQQDAgNIADBFAiEAwcHQ6rOTLMdwfVlC4J7DJVathroNyG9/hPKK
            ssSFyAwCIA7kBqXtQYyhdcDHqoyHdQ7g0matsQ84h//CKmXaqa2Q
            -----END CERTIFICATE-----
            """;

    @Test
    void opensslSec1EcKeyAndCertificateAreRead() throws Exception {
        Path cert = Files.writeString(dir.resolve("ec.crt"), OPENSSL_EC_CERT);
        Path key = Files.writeString(dir.resolve("ec.key"), OPENSSL_EC_KEY);
        KeyMaterial km = Pem.readKeyMaterial(cert, key);
        assertThat(km.key().getAlgorithm()).isEqualTo("EC");
        assertThat(km.leaf().getSubjectX500Principal().getName()).isEqualTo("CN=test");
    }

    @Test
    void mismatchedKeyAndCertificateAreRefused() throws Exception {
        KeyMaterial km = SelfSignedCertificate.generate(List.of("localhost"), Duration.ofDays(1));
        KeyPairGenerator gen = KeyPairGenerator.getInstance("RSA");
        gen.initialize(2048);
        Path cert = Files.writeString(dir.resolve("c.pem"), Pem.encode(km.leaf()));
        Path key = Files.writeString(dir.resolve("k.pem"), Pem.encode(gen.generateKeyPair()));
        assertThatThrownBy(() -> Pem.readKeyMaterial(cert, key)).hasMessageContaining("does not match");
    }
}
