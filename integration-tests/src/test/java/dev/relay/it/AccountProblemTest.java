package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.ConfigLoader;
import dev.relay.config.RelayConfig;
import dev.relay.server.RelayServer;
import dev.relay.testkit.TestUpstream;
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
 * A Microsoft 365 upstream whose tenant has SMTP AUTH turned off (535 5.7.139), end to end: the message is deferred
 * and not bounced, {@code relay_upstream_account_problem} is 1 and {@code /readyz} names the problem (with
 * {@code readiness.require-upstream}); once SMTP AUTH is on again the message goes out and both clear.
 */
class AccountProblemTest {
    @TempDir
    Path dir;

    @Test
    void anM365TenantWithSmtpAuthOffDefersRaisesTheGaugeAndRecovers() throws Exception {
        int port = Loopback.freePort();
        int adminPort = Loopback.freePort();
        try (TestUpstream m365 = TestUpstream.plain().authMechanisms("LOGIN")
                .authReply("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
                        + "Tenant.")) {
            String yaml = """
                    listeners:
                      - { name: local, bind: "127.0.0.1:%d", tls: none }
                    auth: { trusted-networks: ["127.0.0.1/32"] }
                    spool: { dir: "%s" }
                    queue: { min-backoff: 1s, max-backoff: 1s }
                    upstreams:
                      - { name: m365, provider: m365, url: "smtp://127.0.0.1:%d", tls: none,
                          username: relay@example.com, password: pw, rate: { per-second: 0, per-day: 0 } }
                    admin: { bind: "127.0.0.1:%d" }
                    readiness: { require-upstream: true }
                    """.formatted(port, dir.resolve("spool"), m365.port(), adminPort);
            RelayConfig config = ConfigLoader.load(Files.writeString(dir.resolve("relay.yaml"), yaml), Map.of())
                    .config();
            HttpClient http = HttpClient.newHttpClient();
            URI readyz = URI.create("http://127.0.0.1:" + adminPort + "/readyz");
            URI metrics = URI.create("http://127.0.0.1:" + adminPort + "/metrics");
            try (RelayServer relay = RelayServer.start(config)) {
                try (SimpleSmtpClient smtp = new SimpleSmtpClient(port, 10_000)) {
                    assertThat(smtp.send("app@example.com", "b@example.org", "Subject: x\r\n\r\nx"))
                            .startsWith("250");
                }
                String gauge = "relay_upstream_account_problem{reason=\"smtp_auth_disabled\",upstream=\"m365\"}";
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                    assertThat(get(http, metrics).body()).contains(gauge + " 1");
                    HttpResponse<String> r = get(http, readyz);
                    assertThat(r.statusCode()).isEqualTo(503);
                    assertThat(r.body()).contains("account problem", "smtp_auth_disabled");
                });
                assertThat(relay.queue().admin().stats().messages().getOrDefault(dev.relay.core.spool.QueueState.FAILED, 0L))
                        .as("deferred, not bounced").isZero();
                assertThat(m365.messages()).isZero();

                m365.authReply("235 2.7.0 Authentication successful"); // the admin turned SMTP AUTH on
                await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
                    assertThat(m365.mailsWith("Subject: x")).hasSize(1);
                    assertThat(get(http, metrics).body()).contains(gauge + " 0");
                    assertThat(get(http, readyz).statusCode()).isEqualTo(200);
                });
            }
        }
    }

    private static HttpResponse<String> get(HttpClient http, URI uri) throws Exception {
        return http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
    }
}
