package dev.relay.server.console;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.HostPort;
import dev.relay.server.admin.AdminServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The console over HTTP: pages, the token's login and cookie, CSRF on POST, escaping, the demo outbox. */
class ConsoleTest {
    @TempDir
    Path dir;

    AdminServer admin;
    String base;
    final HttpClient http = HttpClient.newHttpClient(); // follows no redirects

    private void start(String token) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        admin = new AdminServer(new HostPort("127.0.0.1", port), new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                Map::of, null, token, null);
        admin.start();
        base = "http://127.0.0.1:" + port;
    }

    @AfterEach
    void stop() {
        if (admin != null) {
            admin.close();
        }
    }

    private HttpResponse<String> get(String path, String cookie) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path));
        if (cookie != null) {
            b.header("Cookie", cookie);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String form, String cookie) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form));
        if (cookie != null) {
            b.header("Cookie", cookie);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String csrf(String html) {
        Matcher m = Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"").matcher(html);
        assertThat(m.find()).as("a CSRF field in %s", html).isTrue();
        return m.group(1);
    }

    @Test
    void onLoopbackWithoutATokenThePagesAreOpenAndEscaped() throws Exception {
        start(null);
        HttpResponse<String> overview = get("/", null);
        assertThat(overview.statusCode()).isEqualTo(200);
        assertThat(overview.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
        assertThat(overview.body()).contains("<h1>Overview</h1>", "The message history is off", "no TLS certificate");
        assertThat(get("/console.css", null).body()).contains("@media");
        HttpResponse<String> head = http.send(HttpRequest.newBuilder(URI.create(base + "/console.css"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.headers().firstValue("Content-Type")).hasValue("text/css; charset=utf-8");
        assertThat(get("/queue", null).body()).contains("No message in the queue matches");
        assertThat(get("/nowhere%3Cscript%3E", null).body()).contains("no page /nowhere&lt;script&gt;")
                .doesNotContain("<script>");
        assertThat(get("/queue?state=lost", null).statusCode()).isEqualTo(400);
        // the notice after an action shows only what an action says, not what a link would like it to say
        assertThat(get("/queue?done=01M8RGR080-40M8FSCR%3A%20due%20now", null).body())
                .contains("id=\"notice\">01M8RGR080-40M8FSCR: due now");
        assertThat(get("/queue?done=all%20mail%20deleted%3B%20call%20555", null).body()).doesNotContain("call 555");
        assertThat(get("/login", null).statusCode()).isEqualTo(303); // no token: nothing to log in to
        assertThat(get("/demo", null).statusCode()).isEqualTo(404); // not the demo defaults
        // a POST without the form's CSRF token changes nothing
        HttpResponse<String> forged = post("/queue/01M8RGR080-40M8FSCR/delete", "", null);
        assertThat(forged.statusCode()).isEqualTo(400);
        assertThat(forged.body()).contains("CSRF");
    }

    @Test
    void withATokenTheConsoleNeedsTheLoginFormsCookie() throws Exception {
        start("s3cret-token");
        HttpResponse<String> anonymous = get("/", null);
        assertThat(anonymous.statusCode()).isEqualTo(303);
        assertThat(anonymous.headers().firstValue("Location")).hasValue("/login");
        assertThat(get("/queue", "relay_console=guess").statusCode()).isEqualTo(303);
        assertThat(get("/login", null).body()).contains("type=\"password\" name=\"token\"");

        HttpResponse<String> wrong = post("/login", "token=nope", null);
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(wrong.headers().firstValue("Set-Cookie")).isEmpty();

        HttpResponse<String> ok = post("/login", "token=s3cret-token", null);
        assertThat(ok.statusCode()).isEqualTo(303);
        String setCookie = ok.headers().firstValue("Set-Cookie").orElseThrow();
        assertThat(setCookie).startsWith("relay_console=").contains("HttpOnly", "SameSite=Strict", "Path=/");
        String cookie = setCookie.substring(0, setCookie.indexOf(';'));
        HttpResponse<String> page = get("/", cookie);
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).doesNotContain("s3cret-token");
        String csrf = csrf(page.body());

        // a form of this session needs this session's CSRF token
        assertThat(post("/logout", "csrf=wrong", cookie).statusCode()).isEqualTo(400);
        HttpResponse<String> out = post("/logout", "csrf=" + csrf, cookie);
        assertThat(out.statusCode()).isEqualTo(303);
        assertThat(out.headers().firstValue("Set-Cookie").orElseThrow()).contains("Max-Age=0");
        assertThat(get("/", cookie).statusCode()).isEqualTo(303); // the session is over
    }

    @Test
    void theDemoOutboxShowsCapturedMessagesAndNothingOutsideIt() throws Exception {
        start(null);
        Path outbox = Files.createDirectories(dir.resolve("outbox"));
        Files.writeString(outbox.resolve("01M8RGR080-40M8FSCR.eml"), "X-Sink-Envelope-From: <a@example.com>\r\n"
                + "X-Sink-Envelope-To: <b@example.org>\r\nSubject: hello <b>there</b>\r\n\r\nthe text\r\n");
        Files.writeString(dir.resolve("secret.eml"), "not in the outbox");
        admin.console().demoOutbox(outbox);
        HttpResponse<String> list = get("/demo", null);
        assertThat(list.statusCode()).isEqualTo(200);
        assertThat(list.body()).contains("/demo/01M8RGR080-40M8FSCR.eml", "&lt;b@example.org&gt;",
                "hello &lt;b&gt;there&lt;/b&gt;");
        HttpResponse<String> one = get("/demo/01M8RGR080-40M8FSCR.eml", null);
        assertThat(one.body()).contains("<pre id=\"text\">the text", "X-Sink-Envelope-From");
        assertThat(get("/demo/..%2Fsecret.eml", null).statusCode()).isEqualTo(404);
        assertThat(get("/demo/secret.eml", null).statusCode()).isEqualTo(404);
    }
}
