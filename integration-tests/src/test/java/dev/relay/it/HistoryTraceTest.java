package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.server.Main;
import dev.relay.server.RelayServer;
import dev.relay.testkit.TestUpstream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The message history end to end: a message submitted with STARTTLS and AUTH, relayed to an upstream that answers
 * {@code 250 2.0.0 Ok: queued as <id>}; then {@code relay trace <Message-ID>} shows received, the attempt with the
 * upstream's reply and its parsed id, and delivered, and {@code relay history} and {@code /api/messages} find it.
 */
class HistoryTraceTest {
    private static final String UPSTREAM_ID = "7A1B2C3D4E";

    @TempDir
    java.nio.file.Path dir;

    TestUpstream fake;
    RelayServer relay;
    String admin;

    record Run(int status, String out, String err) {}

    @AfterEach
    void stop() throws Exception {
        if (relay != null) {
            relay.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    /** Runs the relay command line in this process (also for ClusterHistoryTest). */
    static Run run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int status = cl.execute(args);
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void traceByMessageIdShowsReceiptAttemptWithTheUpstreamsReplyAndDelivery() throws Exception {
        TestRelay setup = new TestRelay(dir);
        fake = TestUpstream.withStartTls(0, UpstreamTls.context(setup.material), (n, c) -> {
            c.dataReply = "250 2.0.0 Ok: queued as " + UPSTREAM_ID;
            c.serve();
        });
        relay = RelayServer.start(setup.config("smtp://relay@127.0.0.1:" + fake.port(), "upstream-secret",
                setup.cert, Duration.ofSeconds(1)));
        admin = "http://127.0.0.1:" + setup.adminPort;

        Loopback.submit(setup.submissionPort, Loopback.Tls.STARTTLS, TestRelay.USER, TestRelay.PASSWORD,
                "app@example.com", "someone@example.org", "traced", "hello");
        await().atMost(Duration.ofSeconds(20)).until(() -> fake.mails().size() == 1);
        Matcher m = Pattern.compile("(?im)^Message-ID: (<[^>]+>)").matcher(fake.mails().get(0).data());
        assertThat(m.find()).isTrue();
        String messageId = m.group(1);

        // the history is written off the 250 path: it shows the delivery within moments
        await().atMost(Duration.ofSeconds(10)).until(() -> run("trace", "--admin", admin, messageId).out()
                .contains("delivered"));
        Run trace = run("trace", "--admin", admin, messageId);
        assertThat(trace.status()).as(trace.err()).isZero();
        String[] lines = trace.out().split("\n");
        assertThat(lines[0]).contains("message ", messageId, "delivered", "from <app@example.com>",
                "to <someone@example.org>");
        assertThat(lines[1]).contains("received", "on submission from 127.0.0.1 user app", "TLSv1.");
        assertThat(lines[2]).contains("attempt", "<someone@example.org> via primary (127.0.0.1:" + fake.port() + ")",
                "250 2.0.0 Ok: queued as " + UPSTREAM_ID, "[upstream id " + UPSTREAM_ID + "]");
        assertThat(lines[3]).contains("delivered", "<someone@example.org>");
        assertThat(lines).hasSize(4);
        assertThat(trace.out()).doesNotContain("replica"); // a relay on its own: no replica names

        // the same message by the upstream's id and by its queue id; the search lists it
        assertThat(run("trace", "--admin", admin, UPSTREAM_ID).out()).contains(messageId);
        Run history = run("history", "--admin", admin, "--since", "1h", "--sender", "app@example.com",
                "--status", "delivered");
        assertThat(history.status()).as(history.err()).isZero();
        assertThat(history.out()).contains("delivered", "<app@example.com>", "someone@example.org",
                "primary " + UPSTREAM_ID, "1 messages");
        assertThat(history.out()).doesNotContain("REPLICA");
        assertThat(run("history", "--admin", admin, "--status", "failed").out()).contains("0 messages");
        Run json = run("history", "--admin", admin, "--json", "--message-id", messageId);
        assertThat(json.out()).contains("\"upstream_id\" : \"" + UPSTREAM_ID + "\"", "\"count\" : 1");
        Run missing = run("trace", "--admin", admin, "<nothing@example.com>");
        assertThat(missing.status()).isEqualTo(1);
        assertThat(missing.err()).contains("no message");

        // the API is paged like /api/queue and behind the same Host guard
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create(admin
                    + "/api/messages?limit=1")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.body()).contains("\"count\":1", "\"next\":null", "\"status\":\"delivered\"",
                    "\"replica\":null");
        }
        try (java.net.Socket s = new java.net.Socket(Loopback.HOST, setup.adminPort)) { // a page rebinding its name
            s.getOutputStream().write(("GET /api/messages HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            String status = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(),
                    java.nio.charset.StandardCharsets.US_ASCII)).readLine();
            assertThat(status).startsWith("HTTP/1.1 403");
        }

        // the file beside the queue opens with any SQLite client
        relay.close();
        relay = null;
        java.nio.file.Path file = dir.resolve("spool").resolve("history.db");
        assertThat(Files.exists(file)).isTrue();
        try (var c = DriverManager.getConnection("jdbc:sqlite:" + file);
             ResultSet rs = c.createStatement().executeQuery("SELECT status, upstream_id FROM message "
                     + "WHERE message_id = '" + messageId + "'")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("delivered");
            assertThat(rs.getString(2)).isEqualTo(UPSTREAM_ID);
        }
    }
}
