package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.ConfigLoader;
import dev.relay.config.RelayConfig;
import java.nio.file.Files;
import java.nio.file.Path;
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
        Path captured = setup.relayOneToSink(config, sinkPort, "fails over", "hello", relay -> {
            assertThat(relay.registry().get("relay.messages.deferred").counter().count()).isZero();
            assertThat(relay.registry().get("relay.upstream.circuit.state").tag("upstream", "alive").gauge()
                    .value()).isZero();
            try (Stream<Path> left = Files.list(dir.resolve("spool").resolve("tmp"))) {
                assertThat(left).as("the rewritten copy is removed").isEmpty();
            }
        });
        String eml = Files.readString(captured);
        assertThat(eml).contains("Subject: fails over", "From: app@verified.example.net",
                "Reply-To: app@example.com");
        assertThat(eml).contains("X-Sink-Envelope-From: <bounces@verified.example.net>");
    }
}
