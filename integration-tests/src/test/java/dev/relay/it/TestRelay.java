package dev.relay.it;

import static org.awaitility.Awaitility.await;

import dev.relay.config.ConfigLoader;
import dev.relay.config.HostPort;
import dev.relay.config.RelayConfig;
import dev.relay.core.auth.UsersFile;
import dev.relay.core.tls.KeyMaterial;
import dev.relay.core.tls.Pem;
import dev.relay.core.tls.SelfSignedCertificate;
import dev.relay.server.RelayServer;
import dev.relay.server.receive.tls.ServerTls;
import dev.relay.server.sink.CaptureSink;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/** A relay configuration written as a user would: a YAML file, a users file, PEM files. */
final class TestRelay {
    static final String USER = "app";
    static final String PASSWORD = "app-password";

    final Path dir;
    final int submissionPort = Loopback.freePort();
    final int adminPort = Loopback.freePort();
    final Path cert;
    final Path key;
    final KeyMaterial material;

    TestRelay(Path dir) throws IOException {
        this.dir = dir;
        material = SelfSignedCertificate.generate(List.of("localhost", "127.0.0.1"), Duration.ofDays(1));
        cert = Files.writeString(dir.resolve("tls.crt"), Pem.encode(material.leaf()));
        key = Files.writeString(dir.resolve("tls.key"), Pem.encode(new JcaPKCS8Generator(material.key(), null)));
        Files.writeString(dir.resolve("users"), UsersFile.line(USER, PASSWORD.toCharArray()) + "\n");
    }

    /** A relay on a STARTTLS listener delivering to {@code upstreamUrl} with the given credentials and trust. */
    RelayConfig config(String upstreamUrl, String upstreamPassword, Path trust, Duration retryDelay)
            throws IOException {
        Files.writeString(dir.resolve("upstream-password"), upstreamPassword + "\n");
        String yaml = """
                listeners:
                  - { name: submission, bind: "127.0.0.1:%d", tls: starttls }
                tls: { cert: "%s", key: "%s" }
                auth:
                  users-file: "%s"
                spool: { dir: "%s" }
                queue: { retry-delay: %dms }
                upstreams:
                  - name: primary
                    url: "%s"
                    password-file: "%s"
                    trust: "%s"
                admin: { bind: "127.0.0.1:%d" }
                """.formatted(submissionPort, cert, key, dir.resolve("users"), dir.resolve("spool"),
                retryDelay.toMillis(), upstreamUrl, dir.resolve("upstream-password"), trust, adminPort);
        Path file = Files.writeString(dir.resolve("relay.yaml"), yaml);
        return ConfigLoader.load(file, Map.of()).config();
    }

    /** The certificate as a PKCS#12 key store, for servers (GreenMail) that take one. */
    Path pkcs12(String password) throws IOException, GeneralSecurityException {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("greenmail", material.key(), password.toCharArray(),
                material.chain().toArray(Certificate[]::new));
        Path file = dir.resolve("upstream.p12");
        try (OutputStream out = Files.newOutputStream(file)) {
            ks.store(out, password.toCharArray());
        }
        return file;
    }

    /** The messages a capture sink wrote into {@code outbox} so far (none while it does not exist). */
    static List<Path> emls(Path outbox) throws IOException {
        if (!Files.isDirectory(outbox)) {
            return List.of();
        }
        try (java.util.stream.Stream<Path> s = Files.list(outbox)) {
            return s.filter(p -> p.toString().endsWith(".eml")).toList();
        }
    }

    /** What a test checks on the running relay once the message has arrived. */
    interface WhileRunning {
        void check(RelayServer relay) throws Exception;
    }

    /**
     * Runs {@code config} against a capture sink on {@code sinkPort} (user {@code relay}, password
     * {@code sink-secret}, this relay's certificate), submits one message from app@example.com to b@example.org,
     * waits until the sink has it and nothing is queued, runs {@code whileRunning}, stops both and returns the
     * captured file.
     */
    Path relayOneToSink(RelayConfig config, int sinkPort, String subject, String body, WhileRunning whileRunning)
            throws Exception {
        Path outbox = dir.resolve("outbox");
        try (CaptureSink sink = new CaptureSink(new HostPort(Loopback.HOST, sinkPort), outbox, "relay",
                "sink-secret", new ServerTls(material))) {
            sink.start();
            try (RelayServer relay = RelayServer.start(config)) {
                Loopback.submit(submissionPort, Loopback.Tls.STARTTLS, USER, PASSWORD, "app@example.com",
                        "b@example.org", subject, body);
                await().atMost(Duration.ofSeconds(20)).until(() -> emls(outbox).size() == 1);
                await().atMost(Duration.ofSeconds(5)).until(() -> relay.queue().queued() == 0);
                whileRunning.check(relay);
            }
        }
        return emls(outbox).get(0);
    }
}
