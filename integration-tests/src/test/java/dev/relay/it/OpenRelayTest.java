package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.ConfigLoader;
import dev.relay.core.auth.UsersFile;
import dev.relay.server.RelayServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The open-relay matrix: every way an unauthorised client could get the relay to carry mail (no AUTH from an
 * untrusted address, forged local senders, source routes, the percent hack, AUTH before TLS, a trusted network or
 * an authenticated user using someone else's sender) against a running relay, each refused with its reply; and
 * nothing of it reaches the queue.
 */
class OpenRelayTest {
    enum Client {
        /** 127.0.0.1 (not trusted), no TLS yet. */
        PLAIN,
        /** 127.0.0.1 after STARTTLS, not authenticated. */
        TLS,
        /** 127.0.0.1 after STARTTLS and AUTH as user app, whose senders are @example.com. */
        AUTHENTICATED,
        /** ::1, a trusted network whose senders are @example.com. */
        TRUSTED
    }

    @org.junit.jupiter.api.io.TempDir
    static Path dir;
    static TestRelay setup;
    static RelayServer relay;
    static int starttls;
    static int sidecar;

    @BeforeAll
    static void start() throws Exception {
        setup = new TestRelay(dir);
        starttls = Loopback.freePort();
        sidecar = Loopback.freePort();
        Files.writeString(dir.resolve("users"), UsersFile.line(TestRelay.USER, TestRelay.PASSWORD.toCharArray())
                + "\n");
        String yaml = """
                hostname: relay.test
                listeners:
                  - { name: submission, bind: "127.0.0.1:%d", tls: starttls }
                  - { name: sidecar,    bind: "[::1]:%d",     tls: none }
                tls: { cert: "%s", key: "%s" }
                auth:
                  users-file: "%s"
                  trusted-networks: ["::1/128"]
                  trusted-senders: ["@example.com"]
                  policies:
                    - { user: app, senders: ["@example.com"] }
                spool: { dir: "%s", min-free-space: 0 }
                upstreams:
                  - { name: nowhere, url: "smtp://127.0.0.1:%d", tls: none }
                admin: { bind: "127.0.0.1:%d" }
                limits: { auth-failure-delay: 0s }
                """.formatted(starttls, sidecar, setup.cert, setup.key, dir.resolve("users"), dir.resolve("spool"),
                Loopback.freePort(), setup.adminPort);
        relay = RelayServer.start(ConfigLoader.load(Files.writeString(dir.resolve("relay.yaml"), yaml), Map.of())
                .config());
    }

    @AfterAll
    static void stop() {
        relay.close();
    }

    static Arguments row(String name, Client client, String... commandsAndReplies) {
        return Arguments.of(name, client, List.of(commandsAndReplies));
    }

    static final String AUTH_REQUIRED = "530 5.7.0 Authentication required";
    static final String TLS_FIRST = "530 5.7.0 Must issue a STARTTLS command first";
    static final String BAD_SENDER = "501 5.1.7 Bad sender address syntax";

    static Stream<Arguments> attempts() {
        String plainToken = java.util.Base64.getEncoder().encodeToString(("\0" + TestRelay.USER + "\0"
                + TestRelay.PASSWORD).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return Stream.of(
                row("no AUTH, foreign sender, foreign recipient", Client.TLS,
                        "MAIL FROM:<spammer@elsewhere.example>", AUTH_REQUIRED,
                        "RCPT TO:<victim@elsewhere.example>", "5", "DATA", "5"),
                row("no AUTH, forged local sender", Client.TLS,
                        "MAIL FROM:<app@example.com>", AUTH_REQUIRED, "RCPT TO:<victim@elsewhere.example>", "5"),
                row("no AUTH, null sender", Client.TLS, "MAIL FROM:<>", AUTH_REQUIRED),
                row("no AUTH, recipient without MAIL", Client.TLS, "RCPT TO:<victim@elsewhere.example>", "5"),
                row("no AUTH, source-routed recipient", Client.TLS, "MAIL FROM:<app@example.com>", AUTH_REQUIRED,
                        "RCPT TO:<@example.com:victim@elsewhere.example>", "5"),
                row("no AUTH, percent-hack recipient", Client.TLS, "MAIL FROM:<app@example.com>", AUTH_REQUIRED,
                        "RCPT TO:<victim%elsewhere.example@example.com>", "5"),
                row("AUTH PLAIN before TLS", Client.PLAIN, "AUTH PLAIN " + plainToken, TLS_FIRST),
                row("AUTH LOGIN before TLS", Client.PLAIN, "AUTH LOGIN", TLS_FIRST),
                row("MAIL before TLS, forged local sender", Client.PLAIN, "MAIL FROM:<app@example.com>",
                        TLS_FIRST),
                row("MAIL before TLS, source-routed sender", Client.PLAIN,
                        "MAIL FROM:<@example.com:ceo@elsewhere.example>", TLS_FIRST),
                row("trusted network, foreign sender", Client.TRUSTED, "MAIL FROM:<ceo@elsewhere.example>",
                        "553 5.7.1 Sender address rejected: not allowed from this network"),
                row("trusted network, source-routed sender", Client.TRUSTED,
                        "MAIL FROM:<@example.com:ceo@elsewhere.example>", BAD_SENDER),
                row("trusted network, second @ hides a foreign sender", Client.TRUSTED,
                        "MAIL FROM:<ceo@elsewhere.example@example.com>", BAD_SENDER),
                row("authenticated user, sender outside its allow-list", Client.AUTHENTICATED,
                        "MAIL FROM:<ceo@other.example>", "553 5.7.1 Sender address rejected: not owned by user app"),
                row("authenticated user, subdomain of its allowed domain", Client.AUTHENTICATED,
                        "MAIL FROM:<ceo@evil.example.com>",
                        "553 5.7.1 Sender address rejected: not owned by user app"),
                row("authenticated user, null sender", Client.AUTHENTICATED, "MAIL FROM:<>",
                        "553 5.7.1 Sender address rejected: not owned by user app"),
                row("authenticated user, source-routed sender", Client.AUTHENTICATED,
                        "MAIL FROM:<@example.com:ceo@other.example>", BAD_SENDER),
                row("authenticated user, second @ hides a foreign sender", Client.AUTHENTICATED,
                        "MAIL FROM:<ceo@other.example@example.com>", BAD_SENDER),
                row("authenticated user, second @ hides a foreign recipient domain", Client.AUTHENTICATED,
                        "MAIL FROM:<app@example.com>", "250 2.1.0 Ok",
                        "RCPT TO:<victim@elsewhere.example@example.com>", "501 5.1.3 Bad recipient address syntax"),
                row("authenticated user, quoted local part with @ is one address", Client.AUTHENTICATED,
                        "MAIL FROM:<\"ceo@other.example\"@example.com>", "250 2.1.0 Ok", "RSET", "250"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("attempts")
    void everyUnauthorisedWayToRelayIsRefused(String name, Client client, List<String> steps) throws Exception {
        double received = relay.registry().get("relay.messages.received").counter().count();
        try (RawSmtp c = open(client)) {
            for (int i = 0; i < steps.size(); i += 2) {
                assertThat(c.command(steps.get(i))).as(steps.get(i)).startsWith(steps.get(i + 1));
            }
            assertThat(c.command("NOOP")).as("the session goes on").isEqualTo("250 2.0.0 Ok");
        }
        assertThat(relay.registry().get("relay.messages.received").counter().count()).isEqualTo(received);
        assertThat(relay.queue().queued()).isZero();
    }

    static RawSmtp open(Client client) throws Exception {
        if (client == Client.TRUSTED) {
            RawSmtp c = new RawSmtp("::1", sidecar, false);
            c.command("EHLO client.test");
            return c;
        }
        RawSmtp c = new RawSmtp(Loopback.HOST, starttls, false);
        c.command("EHLO client.test");
        if (client == Client.PLAIN) {
            return c;
        }
        c.startTls();
        c.command("EHLO client.test");
        if (client == Client.AUTHENTICATED) {
            assertThat(c.authPlain(TestRelay.USER, TestRelay.PASSWORD)).startsWith("235");
        }
        return c;
    }
}
