package dev.relay.it;

import dev.relay.testkit.TestUpstream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import dev.relay.config.ConfigLoader;
import dev.relay.core.auth.UsersFile;
import dev.relay.server.RelayServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A full run with every kind of secret configured (users' password, upstream password, admin token, OAuth2 client
 * secret and refresh token), through failures that log (a wrong inbound password, an upstream refusing the login,
 * a retry), then every output the relay has is searched for each secret, plain and in base64: all log events (at
 * DEBUG, with stack traces), every SMTP reply, /metrics, /api/queue, /readyz and the output of
 * {@code relay check-config}.
 */
class SecretLeakTest {
    static final String USER_PASSWORD = "UserPw-7f1c2e9d";
    static final String UPSTREAM_PASSWORD = "UpstreamPw-9a2b4c6d";
    static final String ADMIN_TOKEN = "AdminTok-4d5e6f70";
    static final String OAUTH_SECRET = "OauthSecret-1b2c3d4e";
    static final String REFRESH_TOKEN = "Refresh-5a6b7c8d";

    @TempDir
    Path dir;

    @Test
    void noSecretAppearsInLogsRepliesMetricsApiOrCheckConfig() throws Exception {
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        Level level = root.getLevel();
        root.setLevel(Level.DEBUG);
        root.addAppender(logs);
        List<String> outputs = new ArrayList<>();
        TestRelay setup = new TestRelay(dir);
        Files.writeString(dir.resolve("users"), UsersFile.line("app", USER_PASSWORD.toCharArray()) + "\n");
        Files.writeString(dir.resolve("upstream-password"), UPSTREAM_PASSWORD + "\n");
        try (TestUpstream fake = TestUpstream.withStartTls(0, UpstreamTls.context(setup.material), (n, c) -> {
            if (n == 1) {
                c.auth = "535 5.7.8 Authentication credentials invalid";
            }
            c.serve();
        })) {
            String yaml = """
                    hostname: relay.test
                    listeners:
                      - { name: submission, bind: "127.0.0.1:%d", tls: starttls }
                    tls: { cert: "%s", key: "%s" }
                    auth: { users-file: "%s" }
                    spool: { dir: "%s", min-free-space: 0 }
                    queue: { min-backoff: 200ms, max-backoff: 500ms }
                    upstreams:
                      - { name: fake, url: "smtp://relay@127.0.0.1:%d", password-file: "%s", trust: "%s" }
                      - name: m365
                        url: "smtp://127.0.0.1:%d"
                        username: relay@example.com
                        auth: xoauth2
                        trust: "%s"
                        oauth2:
                          token-url: "http://127.0.0.1:%d/token"
                          client-id: relay-client
                          client-secret: "%s"
                          refresh-token: "%s"
                    routes:
                      - { name: all, senders: ["*"], upstreams: [fake] }
                    admin: { bind: "127.0.0.1:%d", token: "%s" }
                    limits: { auth-failure-delay: 0s }
                    """.formatted(setup.submissionPort, setup.cert, setup.key, dir.resolve("users"),
                    dir.resolve("spool"), fake.port(), dir.resolve("upstream-password"), setup.cert,
                    Loopback.freePort(), setup.cert, Loopback.freePort(), OAUTH_SECRET, REFRESH_TOKEN,
                    setup.adminPort, ADMIN_TOKEN);
            Path config = Files.writeString(dir.resolve("relay.yaml"), yaml);
            try (RelayServer relay = RelayServer.start(ConfigLoader.load(config, Map.of()).config())) {
                try (RawSmtp c = new RawSmtp(Loopback.HOST, setup.submissionPort, false)) {
                    outputs.add(c.greeting);
                    outputs.add(c.command("EHLO client.test"));
                    c.startTls();
                    outputs.add(c.command("EHLO client.test"));
                    outputs.add(c.authPlain("app", UPSTREAM_PASSWORD)); // a wrong password: another secret
                    outputs.add(c.command("AUTH LOGIN"));
                    outputs.add(c.command(b64("app")));
                    outputs.add(c.command(b64(ADMIN_TOKEN)));
                    outputs.add(c.authPlain("app", USER_PASSWORD));
                    outputs.add(c.command("MAIL FROM:<app@example.com>"));
                    outputs.add(c.command("RCPT TO:<a@example.net>"));
                    outputs.add(c.command("DATA"));
                    outputs.add(c.command("Subject: secrets\r\n\r\nhello\r\n."));
                    outputs.add(c.command("QUIT"));
                }
                await().atMost(Duration.ofSeconds(20)).until(() -> fake.mails().size() == 1);
                assertThat(fake.lines()).as("the upstream password was used (so it had a chance to leak)")
                        .anyMatch(l -> l.text().startsWith("AUTH PLAIN ")
                                && new String(Base64.getDecoder().decode(l.text().substring(11)),
                                StandardCharsets.UTF_8).contains(UPSTREAM_PASSWORD));
                HttpClient http = HttpClient.newHttpClient();
                String base = "http://127.0.0.1:" + setup.adminPort;
                outputs.add(get(http, base + "/metrics", null));
                outputs.add(get(http, base + "/readyz", null));
                outputs.add(get(http, base + "/api/queue", ADMIN_TOKEN));
                outputs.add(get(http, base + "/api/queue", "wrong-" + ADMIN_TOKEN));
            }
            outputs.add(checkConfig(config));
        } finally {
            root.detachAppender(logs);
            root.setLevel(level);
        }
        for (ILoggingEvent e : logs.list) {
            outputs.add(e.getFormattedMessage());
            if (e.getThrowableProxy() != null) {
                outputs.add(ThrowableProxyUtil.asString(e.getThrowableProxy()));
            }
        }
        assertThat(logs.list).as("the run logged (at DEBUG)").hasSizeGreaterThan(10);
        String all = String.join("\n", outputs);
        assertThat(all).contains("535 5.7.8", "relay_messages_delivered_total", "fake");
        for (String secret : List.of(USER_PASSWORD, UPSTREAM_PASSWORD, ADMIN_TOKEN, OAUTH_SECRET, REFRESH_TOKEN)) {
            assertThat(all).as("no trace of " + secret).doesNotContain(secret).doesNotContain(b64(secret))
                    .doesNotContain(b64("\0relay\0" + secret)).doesNotContain(b64("\0app\0" + secret));
        }
    }

    private static String get(HttpClient http, String url, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return r.statusCode() + " " + r.headers().map() + "\n" + r.body();
    }

    /** {@code relay check-config} in a child process, stdout and stderr. */
    private static String checkConfig(Path config) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                "dev.relay.server.Main", "check-config", config.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(out).contains("configuration OK", "client-id");
        return out;
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }
}
