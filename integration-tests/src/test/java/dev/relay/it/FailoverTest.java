package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.ConfigLoader;
import dev.relay.config.HostPort;
import dev.relay.config.RelayConfig;
import dev.relay.server.RelayServer;
import dev.relay.server.receive.tls.ServerTls;
import dev.relay.server.sink.CaptureSink;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two upstreams on one route: nothing listens on the first one's port, so the message fails over within the same
 * attempt and arrives at the second, rewritten as the route says; nothing stays queued.
 */
class FailoverTest {
    @TempDir
    Path dir;

    private static List<Path> emls(Path outbox) throws Exception {
        if (!Files.isDirectory(outbox)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(outbox)) {
            return s.filter(p -> p.toString().endsWith(".eml")).toList();
        }
    }

    @Test
    void aMessageFailsOverFromADeadUpstreamToTheSecondAndArrivesRewritten() throws Exception {
        TestRelay setup = new TestRelay(dir);
        int deadPort = Loopback.freePort();
        int sinkPort = Loopback.freePort();
        Files.writeString(dir.resolve("upstream-password"), "sink-secret\n");
        String yaml = """
                listeners:
                  - { name: submission, bind: "127.0.0.1:%d", tls: starttls }
                tls: { cert: "%s", key: "%s" }
                auth: { users-file: "%s" }
                spool: { dir: "%s" }
                queue: { retry-delay: 1m }
                upstreams:
                  - { name: dead, url: "smtp://relay@127.0.0.1:%d", password-file: "%s", trust: "%s" }
                  - { name: alive, url: "smtp://relay@127.0.0.1:%d", password-file: "%s", trust: "%s" }
                admin: { bind: "127.0.0.1:%d" }
                routes:
                  - name: verified
                    senders: ["@example.com"]
                    upstreams: [dead, alive]
                    rewrite-sender: bounces@verified.example.net
                    rewrite-from: "@verified.example.net"
                    reply-to-original: true
                """.formatted(setup.submissionPort, setup.cert, setup.key, dir.resolve("users"),
                dir.resolve("spool"), deadPort, dir.resolve("upstream-password"), setup.cert, sinkPort,
                dir.resolve("upstream-password"), setup.cert, setup.adminPort);
        RelayConfig config = ConfigLoader.load(Files.writeString(dir.resolve("relay.yaml"), yaml), Map.of())
                .config();
        Path outbox = dir.resolve("outbox");
        try (CaptureSink sink = new CaptureSink(new HostPort(Loopback.HOST, sinkPort), outbox, "relay",
                "sink-secret", new ServerTls(setup.material))) {
            sink.start();
            try (RelayServer relay = RelayServer.start(config)) {
                Loopback.submit(setup.submissionPort, Loopback.Tls.STARTTLS, TestRelay.USER, TestRelay.PASSWORD,
                        "app@example.com", "b@example.org", "fails over", "hello");
                await().atMost(Duration.ofSeconds(20)).until(() -> emls(outbox).size() == 1);
                await().atMost(Duration.ofSeconds(5)).until(() -> relay.queue().queued() == 0);
                assertThat(relay.registry().get("relay.messages.deferred").counter().count()).isZero();
                assertThat(relay.registry().get("relay.upstream.circuit.state").tag("upstream", "alive").gauge()
                        .value()).isZero();
                try (Stream<Path> left = Files.list(dir.resolve("spool").resolve("tmp"))) {
                    assertThat(left).as("the rewritten copy is removed").isEmpty();
                }
            }
        }
        String eml = Files.readString(emls(outbox).get(0));
        assertThat(eml).contains("Subject: fails over", "From: app@verified.example.net",
                "Reply-To: app@example.com");
        assertThat(eml).contains("X-Sink-Envelope-From: <bounces@verified.example.net>");
    }
}
