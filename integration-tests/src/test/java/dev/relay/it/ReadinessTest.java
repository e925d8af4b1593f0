package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.ConfigLoader;
import dev.relay.config.RelayConfig;
import dev.relay.server.RelayServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /readyz} follows the spool: unready while it cannot be written, ready again by itself once it can.
 *
 * <p>How the spool is made unwritable: its {@code tmp/} directory (where every message is first written) is
 * moved away and later moved back, as when a volume is unmounted and remounted. Permission bits would not do:
 * these tests run as root, for whom a mode-0555 directory is still writable; and the free-space reserve is
 * covered by {@code DiskFullTest}.
 */
class ReadinessTest {
    @TempDir
    Path dir;

    @Test
    void readyzTurnsUnreadyWhileTheSpoolCannotBeWrittenAndReadyAgainAfter() throws Exception {
        int port = Loopback.freePort();
        int adminPort = Loopback.freePort();
        Path spool = dir.resolve("spool");
        String yaml = """
                listeners:
                  - { name: local, bind: "127.0.0.1:%d", tls: none }
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s" }
                upstreams:
                  - { name: sink, url: "smtp://127.0.0.1:%d", tls: none }
                admin: { bind: "127.0.0.1:%d" }
                """.formatted(port, spool, Loopback.freePort(), adminPort);
        RelayConfig config = ConfigLoader.load(Files.writeString(dir.resolve("relay.yaml"), yaml), Map.of())
                .config();
        HttpClient http = HttpClient.newHttpClient();
        URI readyz = URI.create("http://127.0.0.1:" + adminPort + "/readyz");
        try (RelayServer relay = RelayServer.start(config)) {
            assertThat(get(http, readyz).statusCode()).isEqualTo(200);

            Files.move(spool.resolve("tmp"), dir.resolve("tmp-away"));
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                HttpResponse<String> r = get(http, readyz);
                assertThat(r.statusCode()).isEqualTo(503);
                assertThat(r.body()).contains("\"ready\":false", "\"spool\":\"spool directory " + spool
                        + " is not writable\"");
            });
            try (SimpleSmtpClient smtp = new SimpleSmtpClient(port, 10_000)) {
                assertThat(smtp.send("app@example.com", "b@example.org", "Subject: x\r\n\r\nx"))
                        .as("mail is refused, transiently, while unready").startsWith("452 4.3.1");
            }

            Files.move(dir.resolve("tmp-away"), spool.resolve("tmp"));
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                HttpResponse<String> r = get(http, readyz);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).contains("\"ready\":true");
            });
            try (SimpleSmtpClient smtp = new SimpleSmtpClient(port, 10_000)) {
                assertThat(smtp.send("app@example.com", "b@example.org", "Subject: x\r\n\r\nx")).startsWith("250");
            }
        }
    }

    private static HttpResponse<String> get(HttpClient http, URI uri) throws Exception {
        return http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void withRequireUpstreamTheRelayIsUnreadyWhileEveryCircuitIsOpenAndOtherwiseKeepsQueueing(boolean require)
            throws Exception {
        int port = Loopback.freePort();
        int adminPort = Loopback.freePort();
        String yaml = """
                listeners:
                  - { name: local, bind: "127.0.0.1:%d", tls: none }
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s", min-free-space: 0 }
                queue: { retry-delay: 100ms }
                upstreams:
                  - { name: down, url: "smtp://127.0.0.1:%d", tls: none }
                admin: { bind: "127.0.0.1:%d" }
                readiness: { require-upstream: %s }
                """.formatted(port, dir.resolve("spool"), Loopback.freePort(), adminPort, require);
        RelayConfig config = ConfigLoader.load(Files.writeString(dir.resolve("relay.yaml"), yaml), Map.of())
                .config();
        HttpClient http = HttpClient.newHttpClient();
        URI readyz = URI.create("http://127.0.0.1:" + adminPort + "/readyz");
        try (RelayServer relay = RelayServer.start(config)) {
            assertThat(get(http, readyz).statusCode()).isEqualTo(200);
            try (SimpleSmtpClient smtp = new SimpleSmtpClient(port, 10_000)) {
                for (int i = 0; i < 5; i++) { // five refused connections open the circuit
                    assertThat(smtp.send("app@example.com", "b@example.org", "Subject: x\r\n\r\nx"))
                            .startsWith("250");
                }
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> relay.registry().get("relay.upstream.circuit.state")
                    .tag("upstream", "down").gauge().value() == 2.0);
            HttpResponse<String> r = get(http, readyz);
            if (require) {
                assertThat(r.statusCode()).isEqualTo(503);
                assertThat(r.body()).contains("\"upstreams\":\"the circuit of every upstream is open [down]");
            } else {
                assertThat(r.statusCode()).as("an outage queues mail instead of turning clients away")
                        .isEqualTo(200);
            }
        }
    }
}
