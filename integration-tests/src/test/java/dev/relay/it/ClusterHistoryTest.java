package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.relay.config.ConfigLoader;
import dev.relay.config.RelayConfig;
import dev.relay.server.RelayServer;
import dev.relay.testkit.TestPostgres;
import dev.relay.testkit.TestUpstream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue #20's shared history: two relays on loopback share one PostgreSQL (TestPostgres); a message relayed by one
 * is found by the other's {@code relay trace}, {@code relay history} and {@code /api/messages}, with the name of
 * the replica that relayed it; with the database stopped, mail is still delivered, and its history is written when
 * the database returns.
 */
class ClusterHistoryTest {
    @TempDir
    Path dir;

    private final List<RelayServer> relays = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();
    private TestUpstream upstream;

    @AfterEach
    void stop() throws Exception {
        TestPostgres.shared().restart(); // a test that stopped it and failed
        relays.forEach(RelayServer::close);
        if (upstream != null) {
            upstream.close();
        }
    }

    private record Replica(int smtpPort, int adminPort) {
        String admin() {
            return "http://127.0.0.1:" + adminPort;
        }
    }

    private Replica start(String name, String database) throws Exception {
        Replica r = new Replica(Loopback.freePort(), Loopback.freePort());
        Path home = Files.createDirectories(dir.resolve(name));
        String yaml = """
                cluster: { database: "%s", replica-name: %s, expected-replicas: 2 }
                upstreams: [ { name: sink, url: "smtp://127.0.0.1:%d", tls: none } ]
                listeners: [ { name: local, bind: "127.0.0.1:%d", tls: none } ]
                auth: { trusted-networks: ["127.0.0.1/32"] }
                admin: { bind: "127.0.0.1:%d" }
                spool: { dir: "%s" }
                """.formatted(database, name, upstream.port(), r.smtpPort, r.adminPort, home.resolve("spool"));
        RelayConfig config = ConfigLoader.load(Files.writeString(home.resolve("relay.yaml"), yaml), Map.of())
                .config();
        relays.add(RelayServer.start(config));
        return r;
    }

    private static void send(Replica r, String messageId) throws Exception {
        try (SimpleSmtpClient smtp = new SimpleSmtpClient(r.smtpPort, 30_000)) {
            assertThat(smtp.send("app@example.com", "jane@example.org", "Message-ID: <" + messageId + ">\r\n"
                    + "Subject: shared\r\n\r\nhello")).startsWith("250");
        }
    }

    private JsonNode messages(Replica r, String path) throws Exception {
        HttpResponse<String> res = http.send(HttpRequest.newBuilder(URI.create(r.admin() + "/api/messages" + path))
                .build(), HttpResponse.BodyHandlers.ofString());
        return res.statusCode() == 200 ? new ObjectMapper().readTree(res.body()).get("messages") : null;
    }

    private static String run(String... args) {
        return HistoryTraceTest.run(args).out();
    }

    @Test
    void aMessageThroughOneReplicaIsTracedOnTheOtherWithItsReplicaAndDatabaseDownStopsNoDelivery() throws Exception {
        TestPostgres pg = TestPostgres.shared();
        String database = pg.url(pg.newDatabase());
        upstream = TestUpstream.plain();
        Replica a = start("relay-a", database);
        Replica b = start("relay-b", database);

        send(a, "shared-1@relay.test");
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            JsonNode m = messages(b, "/shared-1@relay.test");
            return m != null && m.get(0).get("status").asText().equals("delivered");
        });
        JsonNode m = messages(b, "/shared-1@relay.test").get(0);
        assertThat(m.get("replica").asText()).isEqualTo("relay-a");
        for (JsonNode e : m.get("events")) {
            assertThat(e.get("replica").asText()).isEqualTo("relay-a");
        }
        assertThat(run("trace", "--admin", b.admin(), "shared-1@relay.test"))
                .contains("<shared-1@relay.test>", "delivered", "replica relay-a", "250");
        assertThat(run("history", "--admin", b.admin())).contains("REPLICA", "relay-a", "delivered");

        // the database down: relay B still takes and delivers mail, and writes its history when it returns
        pg.stop();
        try {
            int before = upstream.messages();
            send(b, "shared-2@relay.test");
            await().atMost(Duration.ofSeconds(30)).until(() -> upstream.messages() > before);
            // meanwhile a search says what is wrong (the history is not there to read), and mail goes on
            HttpResponse<String> search = http.send(HttpRequest.newBuilder(URI.create(b.admin() + "/api/messages"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(search.statusCode()).isEqualTo(500);
            assertThat(search.body()).contains("history error");
        } finally {
            pg.restart();
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            JsonNode found = messages(a, "/shared-2@relay.test");
            return found != null && found.get(0).get("status").asText().equals("delivered");
        });
        assertThat(messages(a, "/shared-2@relay.test").get(0).get("replica").asText()).isEqualTo("relay-b");
    }
}
