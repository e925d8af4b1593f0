package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.relay.server.setup.DemoSetup;
import dev.relay.server.RelayServer;
import dev.relay.server.sink.CaptureSink;
import jakarta.mail.MessagingException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The built-in demo defaults, end to end: submit over TLS with AUTH, the message lands in the sink's outbox. */
class DemoDefaultsTest {
    @TempDir
    Path dataDir;

    DemoSetup.Ports ports;
    DemoSetup demo;
    CaptureSink sink;
    RelayServer relay;

    @BeforeEach
    void start() throws Exception {
        ports = new DemoSetup.Ports(Loopback.freePort(), Loopback.freePort(), Loopback.freePort(),
                Loopback.freePort());
        demo = DemoSetup.prepare(dataDir, ports);
        sink = demo.startSink();
        relay = RelayServer.start(demo.config());
    }

    @AfterEach
    void stop() {
        if (relay != null) {
            relay.close();
        }
        if (sink != null) {
            sink.close();
        }
    }

    private List<Path> outbox() throws IOException {
        if (!Files.isDirectory(demo.outbox())) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(demo.outbox())) {
            return s.filter(p -> p.toString().endsWith(".eml")).toList();
        }
    }

    @Test
    void messageSubmittedWithStartTlsAndAuthArrivesInTheOutbox() throws Exception {
        Loopback.submit(ports.submission(), Loopback.Tls.STARTTLS, "demo", demo.demoPassword(), "a@example.com",
                "b@example.com", "starttls", "hello\n.leading dot\n");
        await().atMost(Duration.ofSeconds(15)).until(() -> outbox().size() == 1);
        String eml = Files.readString(outbox().get(0));
        assertThat(eml).contains("X-Sink-Envelope-From: <a@example.com>", "X-Sink-Envelope-To: <b@example.com>",
                "Subject: starttls", "\r\n.leading dot\r\n");
        await().atMost(Duration.ofSeconds(5)).until(() -> relay.queue().queued() == 0);
    }

    @Test
    void messageSubmittedWithImplicitTlsArrivesInTheOutbox() throws Exception {
        Loopback.submit(ports.submissions(), Loopback.Tls.IMPLICIT, "demo", demo.demoPassword(), "a@example.com",
                "b@example.com", "implicit", "hello");
        await().atMost(Duration.ofSeconds(15)).until(() -> outbox().size() == 1);
        assertThat(Files.readString(outbox().get(0))).contains("Subject: implicit");
    }

    @Test
    void curlCommandFromTheReadmeDeliversToTheOutbox() throws Exception {
        Path curlPath = RequiredTool.find("curl", "Debian: apt-get install curl");
        Process curl = new ProcessBuilder(curlPath.toString(), "--silent", "--show-error", "--ssl-reqd", "--user",
                "demo:" + demo.demoPassword(), "--mail-from", "a@example.com", "--mail-rcpt", "b@example.com",
                "--upload-file", dataDir.resolve("sample.eml").toString(),
                "smtp://127.0.0.1:" + ports.submission(), "-k")
                .redirectErrorStream(true).start();
        String output = new String(curl.getInputStream().readAllBytes());
        assertThat(curl.waitFor()).as("curl said: %s", output).isZero();
        await().atMost(Duration.ofSeconds(15)).until(() -> outbox().size() == 1);
        assertThat(Files.readString(outbox().get(0))).contains("Subject: hello from relay");
    }

    @Test
    void wrongPasswordIsRefusedAndNothingIsQueued() {
        assertThatThrownBy(() -> Loopback.submit(ports.submission(), Loopback.Tls.STARTTLS, "demo", "wrong",
                "a@example.com", "b@example.com", "x", "x"))
                .isInstanceOf(MessagingException.class).hasMessageContaining("535");
        assertThat(relay.queue().queued()).isZero();
    }

    @Test
    void mailWithoutAuthIsRefused() {
        assertThatThrownBy(() -> Loopback.submit(ports.submission(), Loopback.Tls.STARTTLS, null, null,
                "a@example.com", "b@example.com", "x", "x"))
                .isInstanceOf(MessagingException.class).hasMessageContaining("530");
    }

    @Test
    void adminEndpointServesHealthAndMetrics() throws Exception {
        Loopback.submit(ports.submission(), Loopback.Tls.STARTTLS, "demo", demo.demoPassword(), "a@example.com",
                "b@example.com", "metrics", "hello");
        await().atMost(Duration.ofSeconds(15)).until(() -> outbox().size() == 1);
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + ports.admin();
        HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(base + "/healthz")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).isEqualTo(200);
        HttpResponse<String> ready = http.send(HttpRequest.newBuilder(URI.create(base + "/readyz")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(ready.body()).contains("\"ready\":true");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            String metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics).contains("relay_messages_received_total 1.0", "relay_messages_delivered_total 1.0",
                    "relay_messages_deferred_total 0.0", "relay_messages_failed_total 0.0", "relay_queue_messages 0.0",
                    "relay_spool_commit_seconds_count 1\n");
        });
    }
}
