package dev.relay.server.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.relay.config.HostPort;
import dev.relay.history.HistoryRecorder;
import dev.relay.history.HistoryStore;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP surface of /api/messages: the token, errors, and the history's place beside the queue API. */
class HistoryMessagesApiTest {
    @TempDir
    Path dir;

    HistoryRecorder history;
    AdminServer admin;
    String base;
    final HttpClient http = HttpClient.newHttpClient();

    private void start(String bind, String token) throws Exception {
        history = new HistoryRecorder(HistoryStore.open(dir.resolve("history.db"), false), InstantSource.system(),
                Duration.ofDays(1), 1L << 30, 1000, false, n -> null).start();
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        admin = new AdminServer(new HostPort(bind, port), new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                Map::of, null, token, history);
        admin.start();
        base = "http://127.0.0.1:" + port + "/api/messages";
    }

    @AfterEach
    void stop() {
        if (admin != null) {
            admin.close();
        }
        if (history != null) {
            history.close();
        }
    }

    private HttpResponse<String> get(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void listsAnEmptyHistoryAndRefusesWhatItDoesNotKnow() throws Exception {
        start("127.0.0.1", null);
        HttpResponse<String> list = get("?since=2h&status=delivered", null);
        assertThat(list.statusCode()).isEqualTo(200);
        assertThat(list.body()).contains("\"messages\":[]", "\"count\":0", "\"next\":null");
        assertThat(get("?colour=red", null).statusCode()).isEqualTo(400);
        assertThat(get("?status=lost", null).body()).contains("unknown status");
        assertThat(get("?since=yesterday", null).body()).contains("neither an age");
        assertThat(get("?after=garbage", null).statusCode()).isEqualTo(400);
        assertThat(get("/01M8RGR080-40M8FSCR", null).statusCode()).isEqualTo(404);
        assertThat(get("/a/b", null).statusCode()).isEqualTo(404);
        HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create(base))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).isEqualTo(405);
    }

    @Test
    void aTokenIsRequiredWhenOneIsSet() throws Exception {
        start("127.0.0.1", "s3cret");
        assertThat(get("", null).statusCode()).isEqualTo(401);
        assertThat(get("", "wrong").statusCode()).isEqualTo(401);
        assertThat(get("", "s3cret").statusCode()).isEqualTo(200);
    }

    @Test
    void offLoopbackWithoutATokenTheApiIsOff() throws Exception {
        start("0.0.0.0", null);
        HttpResponse<String> r = get("", null);
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(r.body()).contains("the history API is off");
    }

    @Test
    void sinceTakesAnAgeOrATime() {
        Instant now = Instant.parse("2026-12-04T12:00:00Z");
        assertThat(MessagesApi.time("2h", now, "since")).isEqualTo(Instant.parse("2026-12-04T10:00:00Z"));
        assertThat(MessagesApi.time("2026-12-01T00:00:00Z", now, "since"))
                .isEqualTo(Instant.parse("2026-12-01T00:00:00Z"));
        assertThat(MessagesApi.time(null, now, "since")).isNull();
        assertThatThrownBy(() -> MessagesApi.time("soon", now, "until")).hasMessageContaining("until");
    }
}
