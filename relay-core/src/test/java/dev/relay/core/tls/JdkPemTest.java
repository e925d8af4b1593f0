package dev.relay.core.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.util.List;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JDK-only reading of common PEM files gives exactly what the BouncyCastle path gives, or steps aside. */
class JdkPemTest {
    @TempDir
    Path dir;

    private static KeyPair pair(String algorithm) throws Exception {
        KeyPairGenerator gen = KeyPairGenerator.getInstance(algorithm);
        if (algorithm.equals("RSA")) {
            gen.initialize(2048);
        }
        return gen.generateKeyPair();
    }

    @Test
    void pkcs8KeysOfEveryHandledAlgorithmReadAsBouncyCastleReadsThem() throws Exception {
        for (String algorithm : List.of("RSA", "EC", "Ed25519", "Ed448")) {
            KeyPair pair = pair(algorithm);
            String pem = Pem.encode(new JcaPKCS8Generator(pair.getPrivate(), null));
            Path file = Files.writeString(dir.resolve(algorithm + ".key"), pem);
            var viaJdk = JdkPem.privateKey(pem);
            var viaBouncyCastle = Pem.bouncyCastlePrivateKey(file);
            assertThat(viaJdk).as(algorithm).isNotNull();
            assertThat(viaJdk.getAlgorithm()).isEqualTo(viaBouncyCastle.getAlgorithm());
            assertThat(viaJdk.getEncoded()).isEqualTo(viaBouncyCastle.getEncoded())
                    .isEqualTo(pair.getPrivate().getEncoded());
        }
    }

    @Test
    void pkcs1RsaKeyIsReadAsBouncyCastleReadsIt() throws Exception {
        KeyPair pair = pair("RSA");
        String pem = Pem.encode(pair); // "RSA PRIVATE KEY"
        Path file = Files.writeString(dir.resolve("rsa1.key"), pem);
        assertThat(pem).contains("BEGIN RSA PRIVATE KEY");
        assertThat(JdkPem.privateKey(pem).getEncoded()).isEqualTo(Pem.bouncyCastlePrivateKey(file).getEncoded())
                .isEqualTo(pair.getPrivate().getEncoded());
    }

    @Test
    void certificateChainWithCrlfLinesAndTextAroundReadsInOrderAsBouncyCastleReadsIt() throws Exception {
        KeyMaterial a = SelfSignedCertificate.generate(List.of("a.example"), Duration.ofDays(1));
        KeyMaterial b = SelfSignedCertificate.generate(List.of("b.example"), Duration.ofDays(1));
        String pem = ("# bundle\n" + Pem.encode(a.leaf()) + "subject=b\n" + Pem.encode(b.leaf()))
                .replace("\n", "\r\n");
        Path file = Files.writeString(dir.resolve("chain.pem"), pem);
        List<java.security.cert.X509Certificate> viaJdk = JdkPem.certificates(pem);
        assertThat(viaJdk).containsExactly(a.leaf(), b.leaf());
        assertThat(viaJdk).isEqualTo(Pem.bouncyCastleCertificates(file));
        assertThat(Pem.readCertificates(file)).isEqualTo(viaJdk);
    }

    @Test
    void filesItDoesNotHandleAreLeftToBouncyCastle() throws Exception {
        KeyMaterial km = SelfSignedCertificate.generate(List.of("localhost"), Duration.ofDays(1));
        String cert = Pem.encode(km.leaf());
        String sec1 = """
                -----BEGIN EC PRIVATE KEY-----
                MHcCAQEEILzaAzSObjYZxXyZLJzvZShvrdNeyBdNSgTvlcys5ED2oAoGCCqGSM49
                AwEHoUQDQgAEgzyo4ngHOvcL+GhNIzYSSzDHaLuk7ZKkQ7yKH1Y+1sssavwBJLAG
                d6DTNhwRqQ6H/n7TkftNpkSexDrwfaNC1g==
                -----END EC PRIVATE KEY-----
                """;
        String encrypted = """
                -----BEGIN RSA PRIVATE KEY-----
                Proc-Type: 4,ENCRYPTED
                DEK-Info: AES-128-CBC,00000000000000000000000000000000

                AAAA
                -----END RSA PRIVATE KEY-----
                """;
        assertThat(JdkPem.privateKey(sec1)).as("SEC1 EC key").isNull();
        assertThat(JdkPem.privateKey(encrypted)).as("PEM headers").isNull();
        assertThat(JdkPem.privateKey(cert)).as("no key").isNull();
        assertThat(JdkPem.privateKey("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
                .as("not a PKCS#8 structure").isNull();
        assertThat(JdkPem.certificates(cert + sec1)).as("a key among the certificates").isNull();
        assertThat(JdkPem.certificates("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
                .as("not a certificate").isNull();
        assertThat(JdkPem.certificates("no PEM here")).isNull();
    }
}
