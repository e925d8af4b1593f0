package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.ConfigLoader;
import dev.relay.config.RelayConfig;
import dev.relay.server.RelayServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A spool short of free space refuses mail with 452 4.3.1, keeps the relay up and turns /readyz unready. */
class DiskFullTest {
    @TempDir
    Path dir;

    @Test
    void freeSpaceBelowReserveAnswers452AndMakesTheRelayUnreadyButAlive() throws Exception {
        int port = Loopback.freePort();
        int adminPort = Loopback.freePort();
        String yaml = """
                listeners:
                  - { name: local, bind: "127.0.0.1:%d", tls: none }
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s", min-free-space: 1000000TiB }
                upstreams:
                  - { name: sink, url: "smtp://127.0.0.1:%d", tls: none }
                admin: { bind: "127.0.0.1:%d" }
                """.formatted(port, dir.resolve("spool"), Loopback.freePort(), adminPort);
        RelayConfig config = ConfigLoader.load(Files.writeString(dir.resolve("relay.yaml"), yaml), Map.of())
                .config();
        HttpClient http = HttpClient.newHttpClient();
        try (RelayServer relay = RelayServer.start(config)) {
            try (SimpleSmtpClient smtp = new SimpleSmtpClient(port, 10_000)) {
                String body = "Subject: too big for the disk\r\n\r\nhello";
                assertThat(smtp.send("app@example.com", "b@example.org", body))
                        .isEqualTo("452 4.3.1 Insufficient system storage");
                // the session and the relay stay usable: the next transaction gets the same transient answer
                assertThat(smtp.send("app@example.com", "b@example.org", body)).startsWith("452 4.3.1");
            }
            HttpResponse<String> ready = http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + adminPort + "/readyz")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(ready.statusCode()).isEqualTo(503);
            assertThat(ready.body()).contains("\"spool\":\"free space below reserve");
            HttpResponse<String> alive = http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + adminPort + "/healthz")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(alive.statusCode()).isEqualTo(200);
            assertThat(relay.queue().queued()).isZero();
        }
        try (var files = Files.list(dir.resolve("spool").resolve("incoming"))) {
            assertThat(files).isEmpty();
        }
    }
}
