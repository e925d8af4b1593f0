package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.ConfigLoader;
import dev.relay.core.auth.UsersFile;
import dev.relay.core.tls.KeyMaterial;
import dev.relay.core.tls.Pem;
import dev.relay.core.tls.SelfSignedCertificate;
import dev.relay.server.RelayServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The listeners' certificates over real TLS connections: a Kubernetes-style secret rotation (a swapped symlink)
 * is served to new clients without a restart, a broken rotation is not, and SNI selects among several.
 */
class CertificateReloadTest {
    @TempDir
    Path dir;
    RelayServer relay;
    int implicit;

    @AfterEach
    void stop() {
        if (relay != null) {
            relay.close();
        }
    }

    static void write(Path d, KeyMaterial m) throws IOException {
        Files.createDirectories(d);
        Files.writeString(d.resolve("tls.crt"), Pem.encode(m.leaf()));
        Files.writeString(d.resolve("tls.key"), Pem.encode(new JcaPKCS8Generator(m.key(), null)));
    }

    /** Points the secret's ..data link at {@code target} in one atomic rename, as the kubelet does. */
    void swapTo(String target) throws IOException {
        Path tmp = dir.resolve("secret/..data_tmp");
        Files.createSymbolicLink(tmp, Path.of(target));
        Files.move(tmp, dir.resolve("secret/..data"), StandardCopyOption.ATOMIC_MOVE);
    }

    void start() throws Exception {
        write(dir.resolve("secret/..2026_01"), SelfSignedCertificate.generate(List.of("first.example"),
                Duration.ofDays(1)));
        Files.createSymbolicLink(dir.resolve("secret/..data"), Path.of("..2026_01"));
        Files.createSymbolicLink(dir.resolve("secret/tls.crt"), Path.of("..data/tls.crt"));
        Files.createSymbolicLink(dir.resolve("secret/tls.key"), Path.of("..data/tls.key"));
        write(dir.resolve("mail"), SelfSignedCertificate.generate(List.of("mail.example.com"), Duration.ofDays(5)));
        write(dir.resolve("org"), SelfSignedCertificate.generate(List.of("wild.example.org"), Duration.ofDays(5)));
        Files.writeString(dir.resolve("users"), UsersFile.line("app", "pw".toCharArray()) + "\n");
        implicit = Loopback.freePort();
        String yaml = """
                hostname: relay.test
                listeners:
                  - { name: submissions, bind: "127.0.0.1:%d", tls: implicit }
                tls:
                  cert: "%s"
                  key: "%s"
                  sni:
                    - { names: ["mail.example.com"], cert: "%s", key: "%s" }
                    - { names: ["*.example.org"], cert: "%s", key: "%s" }
                auth: { users-file: "%s" }
                spool: { dir: "%s" }
                upstreams:
                  - { name: sink, url: "smtp://127.0.0.1:%d", tls: none }
                admin: { bind: "127.0.0.1:%d" }
                """.formatted(implicit, dir.resolve("secret/tls.crt"), dir.resolve("secret/tls.key"),
                dir.resolve("mail/tls.crt"), dir.resolve("mail/tls.key"), dir.resolve("org/tls.crt"),
                dir.resolve("org/tls.key"), dir.resolve("users"), dir.resolve("spool"), Loopback.freePort(),
                Loopback.freePort());
        relay = RelayServer.start(ConfigLoader.load(Files.writeString(dir.resolve("relay.yaml"), yaml), Map.of())
                .config());
    }

    /** The subject of the certificate a new TLS client gets, asking for {@code sni} (null: no SNI). */
    String served(String sni) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, null);
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress("127.0.0.1", implicit), 5000);
            plain.setSoTimeout(10_000);
            try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(plain, "127.0.0.1", implicit, true)) {
                SSLParameters params = s.getSSLParameters();
                params.setServerNames(sni == null ? List.of() : List.of(new SNIHostName(sni)));
                s.setSSLParameters(params);
                s.startHandshake();
                X509Certificate leaf = (X509Certificate) s.getSession().getPeerCertificates()[0];
                return leaf.getSubjectX500Principal().getName();
            }
        }
    }

    double expiryDays() {
        return relay.registry().get("relay.tls.certificate.expiry").gauge().value() / 86400.0; // the gauge is in seconds
    }

    @Test
    void aRotatedSecretIsServedToNewClientsWithoutARestartAndABrokenOneIsNot() throws Exception {
        start();
        assertThat(served(null)).endsWith("CN=first.example");
        assertThat(expiryDays()).isBetween(0.9, 1.01);

        write(dir.resolve("secret/..2026_02"), SelfSignedCertificate.generate(List.of("second.example"),
                Duration.ofDays(3)));
        swapTo("..2026_02");
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(300))
                .until(() -> served(null).endsWith("CN=second.example"));
        assertThat(expiryDays()).as("the gauge follows the served certificates: the SNI ones expire in 5 days")
                .isBetween(2.9, 3.01);

        // a rotation whose key belongs to another certificate: logged, and the pair before stays in service
        Path broken = dir.resolve("secret/..2026_03");
        write(broken, SelfSignedCertificate.generate(List.of("third.example"), Duration.ofDays(30)));
        Files.writeString(broken.resolve("tls.key"), Pem.encode(new JcaPKCS8Generator(
                SelfSignedCertificate.generate(List.of("x"), Duration.ofDays(1)).key(), null)));
        swapTo("..2026_03");
        await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(8)).pollInterval(Duration.ofMillis(500))
                .until(() -> served(null).endsWith("CN=second.example"));
        assertThat(expiryDays()).isBetween(2.9, 3.01);
    }

    @Test
    void theNameAClientAsksForSelectsItsCertificateAndOtherNamesGetTheDefault() throws Exception {
        start();
        assertThat(served("mail.example.com")).endsWith("CN=mail.example.com");
        assertThat(served("smtp.example.org")).endsWith("CN=wild.example.org");
        assertThat(served("relay.test")).endsWith("CN=first.example");
        assertThat(served(null)).endsWith("CN=first.example");
    }
}
