package dev.relay.server.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.relay.config.HostPort;
import dev.relay.core.delivery.DeliveryEngine;
import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.handoff.Handoff;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.queue.QueueListener;
import dev.relay.core.queue.QueueManager;
import dev.relay.core.queue.RetryPolicy;
import dev.relay.core.spool.Body;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.Spool;
import dev.relay.server.admin.action.HandoffRequest;
import dev.relay.server.admin.action.QueueActions;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP surface of /api/queue: routing, methods, errors and the token. */
class QueueApiTest {
    @TempDir
    Path dir;

    Spool spool;
    QueueManager queue;
    AdminServer admin;
    String base;
    final HttpClient http = HttpClient.newHttpClient();

    private void start(String token) throws Exception {
        start(token, null);
    }

    private void start(String token, QueueActions.Handoffs handoffs) throws Exception {
        spool = Spool.open(dir);
        DeliveryEngine down = new DeliveryEngine() {
            @Override
            public CompletableFuture<DeliveryReport> deliver(Envelope envelope, Body body) {
                return CompletableFuture.completedFuture(DeliveryReport.all("test", envelope.recipients(),
                        new Outcome.TransientFailure("connection refused")));
            }

            @Override
            public void close() {}
        };
        queue = new QueueManager(spool, down, InstantSource.system(), RetryPolicy.fixed(Duration.ofHours(1)), 2,
                QueueListener.NONE, QueueManager.Bounces.logOnly(), QueueManager.DEFAULT_FAILED_RETENTION);
        queue.start();
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        admin = new AdminServer(new HostPort("127.0.0.1", port), new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                Map::of, queue.admin(), token, null, handoffs);
        admin.start();
        base = "http://127.0.0.1:" + port + "/api/queue";
    }

    @AfterEach
    void stop() {
        if (admin != null) {
            admin.close();
        }
        if (queue != null) {
            queue.stop(Duration.ofSeconds(1));
        }
        if (spool != null) {
            spool.close();
        }
    }

    private HttpResponse<String> send(String method, String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private QueueId deferred() throws Exception {
        QueueId id = queue.submit(MailAddress.of("a@x.org"), List.of(MailAddress.of("b@y.org")), "app",
                new ByteArrayInputStream("Subject: s\r\n\r\nb\r\n".getBytes()));
        await().until(() -> spool.list(QueueState.DEFERRED).contains(id));
        return id;
    }

    @Test
    void theHandOffByHandTakesAJsonRequestAndAnswersItsCountsOrWhyNot() throws Exception {
        List<HandoffRequest> asked = new CopyOnWriteArrayList<>();
        start(null, (request, by) -> {
            if ("busy".equals(request.user())) {
                throw new IllegalStateException("a hand-off is running already");
            }
            asked.add(request);
            return new Handoff.Summary(2, 1, 0, 3);
        });
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/handoff"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"to\": \"smtps://peer:2465\", \"timeout\": \"2m\"}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).contains("\"handed_off\" : 2", "\"refused\" : 1", "\"hop_limit\" : 0",
                "\"unfinished\" : 3", "\"kept\" : 4");
        assertThat(asked).containsExactly(new HandoffRequest("smtps://peer:2465", null, null, null,
                Duration.ofMinutes(2)));
        assertThat(send("POST", "/handoff", null).statusCode()).isEqualTo(200); // no body: as configured
        assertThat(asked.get(1)).isEqualTo(HandoffRequest.CONFIGURED);
        assertThat(send("GET", "/handoff", null).statusCode()).isEqualTo(405);
        for (String bad : List.of("[1]", "{\"trust\": \"/etc/passwd\"}", "{\"timeout\": \"soon\"}", "nope")) {
            HttpResponse<String> refused = http.send(HttpRequest.newBuilder(URI.create(base + "/handoff"))
                    .POST(HttpRequest.BodyPublishers.ofString(bad)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(refused.statusCode()).as(bad).isEqualTo(400);
            assertThat(refused.body()).as(bad).contains("\"error\"");
        }
        HttpResponse<String> busy = http.send(HttpRequest.newBuilder(URI.create(base + "/handoff"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"user\": \"busy\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(busy.statusCode()).isEqualTo(409);
        assertThat(busy.body()).contains("running already");
    }

    @Test
    void withoutAHandOffTheRouteSaysSo() throws Exception {
        start(null);
        assertThat(send("POST", "/handoff", null).statusCode()).isEqualTo(404);
    }

    @Test
    void withoutATokenOnLoopbackTheApiAnswersAndRoutesEveryAction() throws Exception {
        start(null);
        QueueId id = deferred();
        assertThat(send("GET", "", null).body()).contains("\"count\" : 1", id.value());
        assertThat(send("GET", "/" + id, null).body()).contains("\"state\" : \"deferred\"",
                "\"last_error\" : \"connection refused\"");
        assertThat(send("POST", "/" + id + "/hold", null).body()).contains("moved from deferred to hold");
        assertThat(send("POST", "/" + id + "/hold", null).statusCode()).isEqualTo(409);
        assertThat(send("POST", "/" + id + "/release", null).statusCode()).isEqualTo(200);
        await().until(() -> spool.peek(QueueState.DEFERRED, id).map(s -> s.envelope().attempts() == 2)
                .orElse(false));
        assertThat(send("POST", "/" + id + "/retry", null).statusCode()).isEqualTo(200);
        await().until(() -> spool.peek(QueueState.DEFERRED, id).map(s -> s.envelope().attempts() == 3)
                .orElse(false));
        assertThat(send("DELETE", "/" + id, null).body()).contains("deleted from deferred");
        assertThat(send("GET", "/" + id, null).statusCode()).isEqualTo(404);
        assertThat(send("GET", "?state=deferred,hold", null).body()).contains("\"count\" : 0");
    }

    @Test
    void badRequestsGetAClearStatusAndMessage() throws Exception {
        start(null);
        QueueId id = deferred();
        assertThat(send("GET", "/not-an-id", null)).satisfies(r -> {
            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(r.body()).contains("is not a queue id");
        });
        assertThat(send("POST", "/" + id + "/explode", null).body()).contains("unknown action 'explode'");
        assertThat(send("PUT", "/" + id, null).statusCode()).isEqualTo(405);
        assertThat(send("GET", "/retry-all", null).statusCode()).isEqualTo(405);
        assertThat(send("GET", "?colour=red", null).body()).contains("unknown filter 'colour'");
        assertThat(send("GET", "?min-age=soon", null).body()).contains("min-age 'soon' is not a duration");
        assertThat(send("GET", "?min-age=1h", null).body()).contains("\"count\" : 0");
        assertThat(send("POST", "/" + id + "/requeue", null).statusCode()).isEqualTo(409);
    }

    @Test
    void withATokenEveryRequestMustCarryIt() throws Exception {
        start("s3cret-token");
        assertThat(send("GET", "", null).statusCode()).isEqualTo(401);
        assertThat(send("GET", "", "wrong").statusCode()).isEqualTo(401);
        assertThat(send("POST", "/retry-all", null).statusCode()).isEqualTo(401);
        HttpResponse<String> ok = send("GET", "", "s3cret-token");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(send("POST", "/retry-all", "s3cret-token").body()).contains("\"retried\" : 0");
    }

    /** A raw HTTP/1.1 request: HttpClient will not send another Host header. Returns the status code. */
    private int raw(String method, String path, String host, String origin) throws Exception {
        URI u = URI.create(base);
        try (java.net.Socket s = new java.net.Socket(u.getHost(), u.getPort())) {
            s.setSoTimeout(10_000);
            String req = method + " " + (path.startsWith("/metrics") ? path : u.getPath() + path) + " HTTP/1.1\r\nHost: " + host + "\r\n"
                    + (origin == null ? "" : "Origin: " + origin + "\r\n") + "Content-Length: 0\r\n"
                    + "Connection: close\r\n\r\n";
            s.getOutputStream().write(req.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            String status = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(),
                    java.nio.charset.StandardCharsets.US_ASCII)).readLine();
            return Integer.parseInt(status.split(" ")[1]);
        }
    }

    @Test
    void aRequestNamingAnotherHostIsRefusedSoDnsRebindingCannotReachTheApi() throws Exception {
        start(null);
        QueueId id = deferred();
        int port = URI.create(base).getPort();
        assertThat(raw("GET", "", "evil.example:" + port, null)).isEqualTo(403);
        assertThat(raw("DELETE", "/" + id, "evil.example:" + port, null)).isEqualTo(403);
        assertThat(raw("GET", "", "127.0.0.1.evil.example", null)).isEqualTo(403);
        assertThat(spool.list(QueueState.DEFERRED)).contains(id);
        assertThat(raw("GET", "", "localhost:" + port, null)).isEqualTo(200);
        assertThat(raw("GET", "", "127.0.0.1:" + port, null)).isEqualTo(200);
        assertThat(raw("GET", "", "[::1]:" + port, null)).isEqualTo(200);
        assertThat(raw("GET", "/metrics", "evil.example", null)).as("every endpoint").isEqualTo(403);
    }

    @Test
    void aCrossOriginStateChangeIsRefused() throws Exception {
        start(null);
        QueueId id = deferred();
        int port = URI.create(base).getPort();
        assertThat(raw("DELETE", "/" + id, "127.0.0.1:" + port, "http://evil.example")).isEqualTo(403);
        assertThat(raw("POST", "/" + id + "/hold", "127.0.0.1:" + port, "null")).isEqualTo(403);
        assertThat(raw("POST", "/retry-all", "127.0.0.1:" + port, "http://127.0.0.1:" + (port + 1)))
                .isEqualTo(403);
        assertThat(spool.list(QueueState.DEFERRED)).contains(id);
        assertThat(raw("GET", "", "127.0.0.1:" + port, "http://evil.example")).as("a read changes nothing")
                .isEqualTo(200);
        assertThat(raw("POST", "/" + id + "/hold", "127.0.0.1:" + port, "http://127.0.0.1:" + port))
                .as("same origin").isEqualTo(200);
    }

    @Test
    void theListIsPagedWithALimitAndACursor() throws Exception {
        start(null);
        java.util.Set<String> ids = new java.util.HashSet<>();
        for (int i = 0; i < 5; i++) {
            ids.add(deferred().value());
        }
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        java.util.List<String> seen = new java.util.ArrayList<>();
        String query = "?state=deferred&limit=2";
        int pages = 0;
        while (true) {
            HttpResponse<String> r = send("GET", query, null);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            var body = json.readTree(r.body());
            assertThat(body.get("messages").size()).isLessThanOrEqualTo(2);
            body.get("messages").forEach(m -> seen.add(m.get("id").asText()));
            pages++;
            if (body.get("next").isNull()) {
                break;
            }
            query = "?state=deferred&limit=2&after=" + java.net.URLEncoder.encode(body.get("next").asText(),
                    java.nio.charset.StandardCharsets.UTF_8);
        }
        assertThat(pages).isEqualTo(3);
        assertThat(seen).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(ids);
        assertThat(send("GET", "?limit=0", null).body()).contains("limit must be 1 to 1000");
        assertThat(send("GET", "?limit=1001", null).statusCode()).isEqualTo(400);
        assertThat(send("GET", "?after=nonsense", null).body()).contains("not a cursor");
        assertThat(json.readTree(send("GET", "", null).body()).get("messages").size()).as("default 100")
                .isEqualTo(5);
    }

    @Test
    void offLoopbackTheApiIsServedOnlyWithAToken() {
        assertThat(AdminServer.queueApiServed(new dev.relay.config.HostPort("127.0.0.1", 9090), null)).isTrue();
        assertThat(AdminServer.queueApiServed(new dev.relay.config.HostPort("::1", 9090), null)).isTrue();
        assertThat(AdminServer.queueApiServed(new dev.relay.config.HostPort("0.0.0.0", 9090), null)).isFalse();
        assertThat(AdminServer.queueApiServed(new dev.relay.config.HostPort("0.0.0.0", 9090), "t")).isTrue();
    }

    @Test
    void filterParsingNamesWhatIsWrong() {
        assertThat(QueueApi.filter("state=hold,failed&sender=a%40x&recipient=b&min-age=90s"))
                .satisfies(f -> {
                    assertThat(f.states()).containsExactlyInAnyOrder(QueueState.HOLD, QueueState.FAILED);
                    assertThat(f.senderContains()).isEqualTo("a@x");
                    assertThat(f.minAge()).isEqualTo(Duration.ofSeconds(90));
                });
        assertThatThrownBy(() -> QueueApi.filter("state=lost")).hasMessageContaining("incoming, active, deferred");
        assertThat(QueueApi.duration("PT2H")).isEqualTo(Duration.ofHours(2));
    }
}
