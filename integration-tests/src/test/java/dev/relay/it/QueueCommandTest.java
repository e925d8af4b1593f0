package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.ConfigLoader;
import dev.relay.config.RelayConfig;
import dev.relay.core.model.QueueId;
import dev.relay.core.queue.QueueAdmin;
import dev.relay.core.spool.QueueState;
import dev.relay.server.Main;
import dev.relay.server.RelayServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code relay queue ...} against a running relay whose upstream is down, through the admin API with a token. */
class QueueCommandTest {
    private static final String TOKEN = "test-admin-token";

    @TempDir
    Path dir;

    TestRelay setup;
    RelayServer relay;
    String admin;

    record Run(int status, String out, String err) {}

    @BeforeEach
    void start() throws Exception {
        setup = new TestRelay(dir);
        // nothing listens on the upstream port: every attempt is deferred, for an hour
        setup.config("smtp://relay@127.0.0.1:" + Loopback.freePort(), "x", setup.cert, Duration.ofHours(1));
        RelayConfig config = ConfigLoader.load(dir.resolve("relay.yaml"), Map.of("RELAY_ADMIN_TOKEN", TOKEN))
                .config();
        relay = RelayServer.start(config);
        admin = "http://127.0.0.1:" + setup.adminPort;
    }

    @AfterEach
    void stop() {
        if (relay != null) {
            relay.close();
        }
    }

    private Run queue(String... args) throws IOException {
        Path tokenFile = Files.writeString(dir.resolve("admin-token"), TOKEN + "\n");
        String[] all = new String[args.length + 5];
        all[0] = "queue";
        all[1] = "--admin";
        all[2] = admin;
        all[3] = "--token-file";
        all[4] = tokenFile.toString();
        System.arraycopy(args, 0, all, 5, args.length);
        return run(all);
    }

    private static Run run(String... all) {
        CommandLine cl = new CommandLine(new Main());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int status = cl.execute(all);
        return new Run(status, out.toString(), err.toString());
    }

    private QueueId deferredMessage(String subject) throws Exception {
        Loopback.submit(setup.submissionPort, Loopback.Tls.STARTTLS, TestRelay.USER, TestRelay.PASSWORD,
                "app@example.com", "b@example.org", subject, "hello");
        await().atMost(Duration.ofSeconds(10)).until(() -> !relay.queue().admin().list(new QueueAdmin.Filter(
                java.util.Set.of(QueueState.DEFERRED), null, null, null)).isEmpty());
        return relay.queue().admin().list(QueueAdmin.Filter.ALL).get(0).id();
    }

    @Test
    void listHoldReleaseAndDeleteThroughTheCli() throws Exception {
        QueueId id = deferredMessage("steered");

        Run list = queue("list");
        assertThat(list.status()).as(list.err()).isZero();
        assertThat(list.out()).contains(id.value(), "deferred", "<app@example.com>", "b@example.org", "1 messages");
        assertThat(queue("list", "--state", "hold").out()).contains("0 messages");
        assertThat(queue("list", "--recipient", "nobody").out()).contains("0 messages");

        Run show = queue("show", id.value());
        assertThat(show.out()).contains("\"state\" : \"deferred\"", "\"attempts\" : 1", "\"last_error\"");

        Run hold = queue("hold", id.value());
        assertThat(hold.status()).as(hold.err()).isZero();
        assertThat(hold.out()).contains(id.value() + ": moved from deferred to hold");
        assertThat(queue("list", "--state", "hold").out()).contains(id.value(), "1 messages");
        assertThat(relay.queue().queued()).isZero();

        Run release = queue("release", id.value());
        assertThat(release.out()).contains("moved from hold to incoming");
        // released: delivered at once (and deferred again, the upstream being down)
        await().atMost(Duration.ofSeconds(10)).until(() -> relay.queue().admin().show(id).orElseThrow()
                .attempts() == 2);

        Run delete = queue("delete", id.value());
        assertThat(delete.status()).as(delete.err()).isZero();
        assertThat(queue("list").out()).contains("0 messages");
        Run again = queue("show", id.value());
        assertThat(again.status()).isEqualTo(1);
        assertThat(again.err()).contains("no message " + id.value());
    }

    @Test
    void listFollowsEveryPageOfTheApi() throws Exception {
        for (int i = 0; i < 3; i++) {
            Loopback.submit(setup.submissionPort, Loopback.Tls.STARTTLS, TestRelay.USER, TestRelay.PASSWORD,
                    "app@example.com", "b@example.org", "paged " + i, "hello");
        }
        await().atMost(Duration.ofSeconds(15)).until(() -> relay.queue().admin().list(new QueueAdmin.Filter(
                java.util.Set.of(QueueState.DEFERRED), null, null, null)).size() == 3);
        List<String> ids = relay.queue().admin().list(QueueAdmin.Filter.ALL).stream().map(m -> m.id().value())
                .toList();
        Run list = queue("list", "--page-size", "2");
        assertThat(list.status()).as(list.err()).isZero();
        assertThat(list.out()).contains(ids.toArray(String[]::new)).contains("3 messages");
        assertThat(list.out().lines().filter(l -> l.startsWith("ID ")).count()).as("one heading").isEqualTo(1);
        Run json = queue("list", "--json", "--page-size", "1");
        assertThat(json.out()).contains("\"count\" : 3", ids.get(0), ids.get(1), ids.get(2));
    }

    @Test
    void aTokenOnTheCommandLineIsWarnedAboutAndTheFileOrEnvironmentIsPreferred() throws Exception {
        Run withToken = run("queue", "--admin", admin, "--token", TOKEN, "list");
        assertThat(withToken.status()).as(withToken.err()).isZero();
        assertThat(withToken.err()).contains("warning: --token puts the admin token in the process list")
                .contains("--token-file").contains("RELAY_ADMIN_TOKEN");
        Run withFile = queue("list");
        assertThat(withFile.status()).isZero();
        assertThat(withFile.err()).doesNotContain("warning");
        Run help = run("queue", "--help");
        assertThat(help.out()).contains("--token-file", "RELAY_ADMIN_TOKEN", "process list");
    }

    @Test
    void apiNeedsTheTokenAndAnswersJson() throws Exception {
        QueueId id = deferredMessage("api");
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> anonymous = http.send(HttpRequest.newBuilder(URI.create(admin + "/api/queue")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(anonymous.statusCode()).isEqualTo(401);
        HttpResponse<String> wrong = http.send(HttpRequest.newBuilder(URI.create(admin + "/api/queue"))
                .header("Authorization", "Bearer nope").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(wrong.statusCode()).isEqualTo(401);

        HttpResponse<String> list = http.send(HttpRequest.newBuilder(URI.create(admin
                        + "/api/queue?state=deferred&sender=app")).header("Authorization", "Bearer " + TOKEN).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(list.statusCode()).isEqualTo(200);
        assertThat(list.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(list.body()).contains("\"id\" : \"" + id.value() + "\"", "\"count\" : 1");

        HttpResponse<String> retryAll = http.send(HttpRequest.newBuilder(URI.create(admin + "/api/queue/retry-all"))
                .header("Authorization", "Bearer " + TOKEN).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(retryAll.body()).contains("\"retried\" : 1");
        await().atMost(Duration.ofSeconds(10)).until(() -> relay.queue().admin().show(id).orElseThrow()
                .attempts() == 2);

        HttpResponse<String> badState = http.send(HttpRequest.newBuilder(URI.create(admin
                        + "/api/queue?state=lost")).header("Authorization", "Bearer " + TOKEN).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(badState.statusCode()).isEqualTo(400);
        assertThat(badState.body()).contains("unknown state 'lost'");

        HttpResponse<String> requeueDeferred = http.send(HttpRequest.newBuilder(URI.create(admin + "/api/queue/"
                        + id.value() + "/requeue")).header("Authorization", "Bearer " + TOKEN)
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(requeueDeferred.statusCode()).isEqualTo(409);

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            String metrics = http.send(HttpRequest.newBuilder(URI.create(admin + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics).contains("relay_queue_state_messages{state=\"deferred\"} 1.0",
                    "relay_delivery_attempts_total 2.0", "relay_queue_oldest_age_seconds");
        });
    }
}
