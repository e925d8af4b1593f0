package dev.relay.server.receive.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.relay.config.TlsConfig;
import dev.relay.core.tls.KeyMaterial;
import dev.relay.core.tls.Pem;
import dev.relay.core.tls.SelfSignedCertificate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerCertificatesTest {
    @TempDir
    Path dir;

    static KeyMaterial material(String name) {
        return SelfSignedCertificate.generate(List.of(name), Duration.ofDays(10));
    }

    static void write(Path certFile, Path keyFile, KeyMaterial m) throws IOException {
        Files.createDirectories(certFile.getParent());
        Files.writeString(certFile, Pem.encode(m.leaf()));
        Files.writeString(keyFile, Pem.encode(new JcaPKCS8Generator(m.key(), null)));
    }

    static String cn(java.security.cert.X509Certificate c) {
        return c.getSubjectX500Principal().getName();
    }

    @Test
    void changedFilesAreServedAfterTheNextLook() throws Exception {
        Path cert = dir.resolve("tls.crt");
        Path key = dir.resolve("tls.key");
        write(cert, key, material("old.example"));
        ServerCertificates certs = ServerCertificates.load(new TlsConfig(cert, key));
        assertThat(certs.reloadIfChanged()).as("nothing changed").isFalse();

        write(cert, key, material("new.example"));
        assertThat(certs.reloadIfChanged()).isTrue();
        assertThat(cn(certs.served(null))).endsWith("CN=new.example");
    }

    /** The layout of a Kubernetes secret volume: tls.crt -> ..data/tls.crt, ..data -> a timestamped directory. */
    @Test
    void aSwappedSymlinkIsFollowed() throws Exception {
        write(dir.resolve("v1/tls.crt"), dir.resolve("v1/tls.key"), material("v1.example"));
        write(dir.resolve("v2/tls.crt"), dir.resolve("v2/tls.key"), material("v2.example"));
        Files.createSymbolicLink(dir.resolve("..data"), dir.resolve("v1"));
        Files.createSymbolicLink(dir.resolve("tls.crt"), Path.of("..data/tls.crt"));
        Files.createSymbolicLink(dir.resolve("tls.key"), Path.of("..data/tls.key"));
        ServerCertificates certs = ServerCertificates.load(new TlsConfig(dir.resolve("tls.crt"), dir.resolve("tls.key")));
        assertThat(cn(certs.served(null))).endsWith("CN=v1.example");

        Files.createSymbolicLink(dir.resolve("..data_tmp"), dir.resolve("v2"));
        Files.move(dir.resolve("..data_tmp"), dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
        assertThat(certs.reloadIfChanged()).isTrue();
        assertThat(cn(certs.served(null))).endsWith("CN=v2.example");
    }

    @Test
    void aBrokenOrMismatchedPairKeepsTheCertificatesLoadedBefore() throws Exception {
        Path cert = dir.resolve("tls.crt");
        Path key = dir.resolve("tls.key");
        write(cert, key, material("good.example"));
        ServerCertificates certs = ServerCertificates.load(new TlsConfig(cert, key));

        Files.writeString(cert, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
        assertThat(certs.reloadIfChanged()).isFalse();
        assertThat(cn(certs.served(null))).endsWith("CN=good.example");

        KeyMaterial other = material("other.example"); // same key type, another key
        Files.writeString(cert, Pem.encode(material("rotated.example").leaf()));
        Files.writeString(key, Pem.encode(new JcaPKCS8Generator(other.key(), null)));
        assertThat(certs.reloadIfChanged()).isFalse();
        assertThat(cn(certs.served(null))).endsWith("CN=good.example");
    }

    @Test
    void aKeyOfAnotherCertificateIsRefusedAtStart() throws Exception {
        Path cert = dir.resolve("tls.crt");
        Path key = dir.resolve("tls.key");
        write(cert, key, material("a.example"));
        Files.writeString(key, Pem.encode(new JcaPKCS8Generator(material("b.example").key(), null)));
        assertThatThrownBy(() -> ServerCertificates.load(new TlsConfig(cert, key)))
                .isInstanceOf(IOException.class).hasMessageContaining("does not belong to the certificate");
    }

    /** {@code key} encoded without its public point, as the JDK writes EC keys. */
    static java.security.PrivateKey withoutPoint(java.security.PrivateKey key) throws Exception {
        org.bouncycastle.asn1.pkcs.PrivateKeyInfo info =
                org.bouncycastle.asn1.pkcs.PrivateKeyInfo.getInstance(key.getEncoded());
        org.bouncycastle.asn1.sec.ECPrivateKey inner =
                org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey());
        byte[] bare = new org.bouncycastle.asn1.pkcs.PrivateKeyInfo(info.getPrivateKeyAlgorithm(),
                new org.bouncycastle.asn1.sec.ECPrivateKey(inner.getPrivateKey(), null, null)).getEncoded();
        return java.security.KeyFactory.getInstance("EC")
                .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(bare));
    }

    @Test
    void aKeyWithoutItsPublicPointIsCheckedByASignature() throws Exception {
        Path cert = dir.resolve("tls.crt");
        Path key = dir.resolve("tls.key");
        KeyMaterial a = material("a.example");
        write(cert, key, a);
        Files.writeString(key, Pem.encode(new JcaPKCS8Generator(withoutPoint(a.key()), null)));
        assertThat(cn(ServerCertificates.load(new TlsConfig(cert, key)).served(null))).endsWith("CN=a.example");

        Files.writeString(key, Pem.encode(new JcaPKCS8Generator(withoutPoint(material("b.example").key()), null)));
        assertThatThrownBy(() -> ServerCertificates.load(new TlsConfig(cert, key)))
                .isInstanceOf(IOException.class).hasMessageContaining("does not belong to the certificate");
    }

    @Test
    void sniNamesSelectTheirCertificateAndOtherNamesGetTheDefault() throws Exception {
        write(dir.resolve("d.crt"), dir.resolve("d.key"), material("default.example"));
        write(dir.resolve("m.crt"), dir.resolve("m.key"), material("mail.example.com"));
        write(dir.resolve("o.crt"), dir.resolve("o.key"), material("example.org"));
        ServerCertificates certs = ServerCertificates.load(new TlsConfig(dir.resolve("d.crt"), dir.resolve("d.key"),
                List.of(new TlsConfig.SniCertificate(List.of("Mail.Example.com"), dir.resolve("m.crt"),
                                dir.resolve("m.key")),
                        new TlsConfig.SniCertificate(List.of("*.example.org"), dir.resolve("o.crt"),
                                dir.resolve("o.key")))));
        assertThat(cn(certs.served("mail.example.COM"))).endsWith("CN=mail.example.com");
        assertThat(cn(certs.served("smtp.example.org"))).endsWith("CN=example.org");
        assertThat(cn(certs.served("a.b.example.org"))).as("a wildcard covers one label").endsWith("CN=default.example");
        assertThat(cn(certs.served("example.org"))).endsWith("CN=default.example");
        assertThat(cn(certs.served(null))).endsWith("CN=default.example");
    }
}
