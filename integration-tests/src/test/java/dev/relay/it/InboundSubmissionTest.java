package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.relay.config.ConfigLoader;
import dev.relay.config.HostPort;
import dev.relay.core.auth.UsersFile;
import dev.relay.server.RelayServer;
import dev.relay.server.receive.tls.ServerTls;
import dev.relay.server.sink.CaptureSink;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Inbound submission over real sockets: TLS before AUTH, lockout, sender policy, limits, pipelining, smuggling. */
class InboundSubmissionTest {
    static final String HOST = Loopback.HOST;

    /** The limits of the relay most tests share (started once: a relay start costs a second or two here). */
    static final String SHARED_LIMITS = "max-recipients: 2, max-message-size: 4KiB";

    @TempDir
    static Path sharedDir;
    static InboundSubmissionTest shared;

    @TempDir
    Path ownDir;

    Path dir;
    TestRelay setup;
    CaptureSink sink;
    RelayServer relay;
    int starttls;
    int implicit;
    int ipv6;

    @BeforeAll
    static void startShared() throws Exception {
        shared = new InboundSubmissionTest();
        shared.dir = sharedDir;
        shared.startRelay(SHARED_LIMITS);
    }

    @AfterAll
    static void stopShared() {
        shared.stopRelay();
    }

    /** Uses the shared relay for the shared limits, else starts one of its own for this test. */
    void start(String limits) throws Exception {
        if (limits.equals(SHARED_LIMITS)) {
            dir = shared.dir;
            setup = shared.setup;
            sink = shared.sink;
            relay = shared.relay;
            starttls = shared.starttls;
            implicit = shared.implicit;
            ipv6 = shared.ipv6;
            return;
        }
        dir = ownDir;
        startRelay(limits);
        own = true;
    }

    boolean own;

    void startRelay(String limits) throws Exception {
        setup = new TestRelay(dir);
        sink = new CaptureSink(new HostPort(HOST, Loopback.freePort()), dir.resolve("outbox"), "relay", "sink-pw",
                new ServerTls(setup.material));
        sink.start();
        starttls = Loopback.freePort();
        implicit = Loopback.freePort();
        ipv6 = Loopback.freePort();
        Files.writeString(dir.resolve("upstream-password"), "sink-pw\n");
        String yaml = """
                hostname: relay.test
                listeners:
                  - { name: submission,  bind: "127.0.0.1:%d", tls: starttls }
                  - { name: submissions, bind: "127.0.0.1:%d", tls: implicit }
                  - { name: sidecar,     bind: "[::1]:%d",     tls: none }
                tls: { cert: "%s", key: "%s" }
                auth:
                  users-file: "%s"
                  trusted-networks: ["::1/128"]
                  trusted-senders: ["@example.com"]
                  policies:
                    - { user: app, senders: ["@example.com"] }
                    - { user: narrow, senders: ["*"], recipient-domains: [example.com] }
                    - { user: strict, senders: ["@example.com"], check-header-from: true }
                spool: { dir: "%s" }
                queue: { retry-delay: 1s }
                upstreams:
                  - { name: sink, url: "smtp://relay@127.0.0.1:%d", password-file: "%s", trust: "%s" }
                admin: { bind: "127.0.0.1:%d" }
                limits: { auth-failure-delay: 0s, %s }
                """.formatted(starttls, implicit, ipv6, setup.cert, setup.key, dir.resolve("users"),
                dir.resolve("spool"), sink.port(), dir.resolve("upstream-password"), setup.cert, setup.adminPort,
                limits);
        Files.writeString(dir.resolve("users"), UsersFile.line(TestRelay.USER, TestRelay.PASSWORD.toCharArray())
                + "\n" + UsersFile.line("narrow", "narrow-pw".toCharArray())
                + "\n" + UsersFile.line("strict", "strict-pw".toCharArray()) + "\n");
        relay = RelayServer.start(ConfigLoader.load(Files.writeString(dir.resolve("relay.yaml"), yaml), Map.of())
                .config());
    }

    @AfterEach
    void stop() {
        if (own) {
            stopRelay();
        }
    }

    void stopRelay() {
        if (relay != null) {
            relay.close();
        }
        if (sink != null) {
            sink.close();
        }
    }

    RawSmtp tlsSession() throws Exception {
        RawSmtp c = new RawSmtp(HOST, starttls, false);
        c.command("EHLO client.test");
        c.startTls();
        c.command("EHLO client.test");
        return c;
    }

    RawSmtp authenticated() throws Exception {
        RawSmtp c = tlsSession();
        assertThat(c.authPlain(TestRelay.USER, TestRelay.PASSWORD)).startsWith("235 2.7.0");
        return c;
    }

    List<String> outbox() throws IOException {
        Path out = dir.resolve("outbox");
        if (!Files.isDirectory(out)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(out)) {
            return s.filter(p -> p.toString().endsWith(".eml")).map(p -> {
                try {
                    return Files.readString(p);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).toList();
        }
    }

    @Test
    void authAndMailBeforeStartTlsAreRefusedAndAuthIsNotOffered() throws Exception {
        start(SHARED_LIMITS);
        double before = count("relay.auth.failures", "reason", "tls_required");
        try (RawSmtp c = new RawSmtp(HOST, starttls, false)) {
            assertThat(c.greeting).startsWith("220 relay.test");
            String ehlo = c.command("EHLO client.test");
            assertThat(ehlo).contains("STARTTLS", "PIPELINING", "ENHANCEDSTATUSCODES", "SIZE 4096")
                    .doesNotContain("AUTH");
            assertThat(c.authPlain(TestRelay.USER, TestRelay.PASSWORD))
                    .isEqualTo("530 5.7.0 Must issue a STARTTLS command first");
            assertThat(c.command("AUTH LOGIN")).isEqualTo("530 5.7.0 Must issue a STARTTLS command first");
            assertThat(c.command("MAIL FROM:<a@example.com>"))
                    .isEqualTo("530 5.7.0 Must issue a STARTTLS command first");
            c.startTls();
            assertThat(c.command("EHLO client.test")).contains("AUTH PLAIN LOGIN").doesNotContain("STARTTLS");
        }
        assertThat(relay.registry().get("relay.tls.certificate.expiry").gauge().value() / 86400)
                .as("TestRelay's certificate is valid for a day").isBetween(0.9, 1.01);
        assertThat(count("relay.auth.failures", "reason", "tls_required") - before).isEqualTo(2.0);
    }

    @Test
    void anEhloNameOfAlmostAWholeCommandLineNeverMakesAHeaderLineOver998Octets() throws Exception {
        start(SHARED_LIMITS);
        String longName = "h".repeat(980) + ".test"; // EHLO + name: 990 octets, a legal command line
        try (RawSmtp c = new RawSmtp(HOST, starttls, false)) {
            assertThat(c.command("EHLO " + longName)).startsWith("250");
            c.startTls();
            assertThat(c.command("EHLO " + longName)).startsWith("250");
            assertThat(c.authPlain(TestRelay.USER, TestRelay.PASSWORD)).startsWith("235");
            assertThat(c.command("MAIL FROM:<app@example.com>")).startsWith("250");
            assertThat(c.command("RCPT TO:<b@example.net>")).startsWith("250");
            assertThat(c.command("DATA")).startsWith("354");
            assertThat(c.command("From: app@example.com\r\nSubject: long ehlo\r\n\r\nbody\r\n."))
                    .startsWith("250");
        }
        await().atMost(Duration.ofSeconds(15)).until(() -> withText("Subject: long ehlo").size() == 1);
        String delivered = withText("Subject: long ehlo").get(0);
        assertThat(delivered.split("\r\n")).allSatisfy(line ->
                assertThat(line.getBytes(java.nio.charset.StandardCharsets.UTF_8).length).isLessThanOrEqualTo(998));
        assertThat(delivered).contains("Received: from " + "h".repeat(252) + "... ([127.0.0.1])");
    }

    @Test
    void outlookStyleAuthLoginOverStartTlsSubmits() throws Exception {
        start(SHARED_LIMITS);
        double before = count("relay.auth.successes", "mechanism", "LOGIN");
        try (RawSmtp c = tlsSession()) {
            assertThat(c.command("AUTH LOGIN")).isEqualTo("334 VXNlcm5hbWU6");
            assertThat(c.command(b64(TestRelay.USER))).isEqualTo("334 UGFzc3dvcmQ6");
            assertThat(c.command(b64(TestRelay.PASSWORD))).isEqualTo("235 2.7.0 Authentication successful");
            assertThat(c.command("MAIL FROM:<app@example.com>")).isEqualTo("250 2.1.0 Ok");
        }
        assertThat(count("relay.auth.successes", "mechanism", "LOGIN") - before).isEqualTo(1.0);
    }

    @Test
    void jakartaMailWithAuthLoginSubmitsOverStartTlsAndImplicitTls() throws Exception {
        start(SHARED_LIMITS);
        submitWithLogin("smtp", starttls);
        submitWithLogin("smtps", implicit);
        await().atMost(Duration.ofSeconds(15)).until(() -> withText("Subject: login smtp\r\n").size() == 1
                && withText("Subject: login smtps\r\n").size() == 1);
    }

    private void submitWithLogin(String proto, int port) throws MessagingException {
        Properties p = new Properties();
        p.put("mail." + proto + ".auth", "true");
        p.put("mail." + proto + ".auth.mechanisms", "LOGIN");
        p.put("mail." + proto + ".ssl.trust", "*");
        p.put("mail." + proto + ".ssl.checkserveridentity", "false");
        p.put("mail." + proto + ".starttls.enable", "true");
        p.put("mail." + proto + ".starttls.required", Boolean.toString(proto.equals("smtp")));
        p.put("mail." + proto + ".timeout", "10000");
        Session session = Session.getInstance(p);
        MimeMessage m = new MimeMessage(session);
        m.setFrom(new InternetAddress("app@example.com"));
        m.setRecipient(Message.RecipientType.TO, new InternetAddress("b@example.net"));
        m.setSubject("login " + proto);
        m.setText("hello");
        try (Transport t = session.getTransport(proto)) {
            t.connect(HOST, port, TestRelay.USER, TestRelay.PASSWORD);
            t.sendMessage(m, m.getAllRecipients());
        }
    }

    @Test
    void repeatedFailuresLockTheClientOutUntilTheLockoutEnds() throws Exception {
        start("auth-max-failures: 3, auth-lockout: 2s");
        try (RawSmtp c = tlsSession()) {
            for (int i = 0; i < 3; i++) {
                assertThat(c.authPlain(TestRelay.USER, "wrong")).isEqualTo("535 5.7.8 Authentication credentials invalid");
            }
            assertThat(c.authPlain(TestRelay.USER, TestRelay.PASSWORD)).as("locked out even with the right password")
                    .isEqualTo("454 4.7.0 Too many failed authentication attempts, try again later");
        }
        await().atMost(Duration.ofSeconds(6)).pollInterval(Duration.ofMillis(250)).until(() -> {
            try (RawSmtp c = tlsSession()) {
                return c.authPlain(TestRelay.USER, TestRelay.PASSWORD).startsWith("235");
            }
        });
        var failures = relay.registry().find("relay.auth.failures");
        assertThat(failures.tag("reason", "invalid_credentials").counter().count()).isEqualTo(3.0);
        assertThat(relay.registry().find("relay.auth.failures").tag("reason", "locked_out").counter().count())
                .isGreaterThanOrEqualTo(1.0);
        assertThat(relay.registry().get("relay.auth.lockouts").counter().count()).isGreaterThanOrEqualTo(1.0);
    }

    @Test
    void aStrangersFailuresDoNotLockOutTheUserFromAnAddressItLoggedInFromBefore() throws Exception {
        // the application logs in over 127.0.0.1; a stranger (::1, the sidecar listener) guesses its password
        start("auth-max-failures: 3, auth-lockout: 10m");
        try (RawSmtp c = tlsSession()) {
            assertThat(c.authPlain(TestRelay.USER, TestRelay.PASSWORD)).startsWith("235 2.7.0");
        }
        try (RawSmtp c = new RawSmtp("::1", ipv6, false)) {
            c.command("EHLO stranger");
            for (int i = 0; i < 3; i++) {
                assertThat(c.authPlain(TestRelay.USER, "guess" + i)).startsWith("535 5.7.8");
            }
        }
        try (RawSmtp c = new RawSmtp("::1", ipv6, false)) {
            c.command("EHLO stranger");
            assertThat(c.authPlain(TestRelay.USER, TestRelay.PASSWORD)).as("the stranger's address stays locked")
                    .isEqualTo("454 4.7.0 Too many failed authentication attempts, try again later");
        }
        try (RawSmtp c = tlsSession()) {
            assertThat(c.authPlain(TestRelay.USER, TestRelay.PASSWORD)).as("the application from its usual address")
                    .startsWith("235 2.7.0");
        }
    }

    @Test
    void aSenderTheUserDoesNotOwnIsRefusedWith553() throws Exception {
        start(SHARED_LIMITS);
        try (RawSmtp c = authenticated()) {
            assertThat(c.command("MAIL FROM:<ceo@other.example>"))
                    .isEqualTo("553 5.7.1 Sender address rejected: not owned by user app");
            assertThat(c.command("MAIL FROM:<billing@example.com>")).isEqualTo("250 2.1.0 Ok");
        }
    }

    @Test
    void aUserLimitedToDomainsCannotSendElsewhere() throws Exception {
        start(SHARED_LIMITS);
        try (RawSmtp c = tlsSession()) {
            assertThat(c.authPlain("narrow", "narrow-pw")).startsWith("235");
            assertThat(c.command("MAIL FROM:<x@anything.example>")).startsWith("250");
            assertThat(c.command("RCPT TO:<a@example.com>")).isEqualTo("250 2.1.5 Ok");
            assertThat(c.command("RCPT TO:<a@gmail.example>"))
                    .isEqualTo("550 5.7.1 Recipient address rejected: user narrow may not send to this domain");
        }
    }

    @Test
    void aHeaderFromTheUserDoesNotOwnIsRefusedAfterTheDataAndNothingIsQueued() throws Exception {
        start(SHARED_LIMITS);
        double before = count("relay.inbound.refused", "reason", "header_from_not_allowed");
        try (RawSmtp c = tlsSession()) {
            assertThat(c.authPlain("strict", "strict-pw")).startsWith("235");
            for (String from : List.of("From: \"The CEO\" <ceo@other.example>", "From: app@example.com,\r\n"
                    + " ceo@other.example\r\nSender: app@example.com", "X-No-From: at all")) {
                assertThat(c.command("MAIL FROM:<app@example.com>")).isEqualTo("250 2.1.0 Ok");
                assertThat(c.command("RCPT TO:<ops@example.net>")).isEqualTo("250 2.1.5 Ok");
                assertThat(c.command("DATA")).startsWith("354");
                assertThat(c.command(from + "\r\nSubject: forged header from\r\n\r\nhello\r\n."))
                        .isEqualTo("553 5.7.1 Header From not owned by user strict");
            }
            assertThat(c.command("MAIL FROM:<app@example.com>")).isEqualTo("250 2.1.0 Ok");
            assertThat(c.command("RCPT TO:<ops@example.net>")).isEqualTo("250 2.1.5 Ok");
            assertThat(c.command("DATA")).startsWith("354");
            assertThat(c.command("From: App (the app) <App@Example.com>\r\nSubject: own header from\r\n\r\n"
                    + "hello\r\n.")).startsWith("250 2.0.0 Ok: queued as");
        }
        await().atMost(Duration.ofSeconds(15)).until(() -> withText("Subject: own header from").size() == 1);
        assertThat(withText("Subject: forged header from")).isEmpty();
        assertThat(count("relay.inbound.refused", "reason", "header_from_not_allowed")).isEqualTo(before + 3);
    }

    @Test
    void aForgedHeaderFromOrSenderThatAHandWrittenParserMisreadsIsRefused() throws Exception {
        start(SHARED_LIMITS);
        // strict may use @example.com; each of these shows a reader another address, or is not one mailbox
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("From: <ceo@victim.com> (\\) <alice@example.com>)",
                "553 5.7.1 Header From not owned by user strict");
        cases.put("From: alice@example.com\r\nFrom: ceo@victim.com",
                "550 5.6.0 More than one From header field");
        cases.put("From: <alice@example.com", "550 5.6.0 Header From is not a valid RFC 5322 mailbox list");
        cases.put("From: team: alice@example.com;", "550 5.6.0 Header From is not a valid RFC 5322 mailbox list");
        cases.put("From: alice@example.com, bob@example.com",
                "550 5.6.0 Header From with more than one mailbox needs a Sender field");
        cases.put("From: alice@example.com\r\nSender: a@example.com, b@example.com",
                "550 5.6.0 Header Sender is not a single valid RFC 5322 mailbox");
        cases.put("From: alice@example.com\r\nSender: <ceo@victim.com> (\\) <alice@example.com>)",
                "553 5.7.1 Header Sender not owned by user strict");
        try (RawSmtp c = tlsSession()) {
            assertThat(c.authPlain("strict", "strict-pw")).startsWith("235");
            for (Map.Entry<String, String> e : cases.entrySet()) {
                assertThat(c.command("MAIL FROM:<alice@example.com>")).isEqualTo("250 2.1.0 Ok");
                assertThat(c.command("RCPT TO:<ops@example.net>")).isEqualTo("250 2.1.5 Ok");
                assertThat(c.command("DATA")).startsWith("354");
                assertThat(c.command(e.getKey() + "\r\nSubject: forged by parser\r\n\r\nhello\r\n."))
                        .as(e.getKey()).isEqualTo(e.getValue());
            }
            assertThat(c.command("MAIL FROM:<alice@example.com>")).isEqualTo("250 2.1.0 Ok");
            assertThat(c.command("RCPT TO:<ops@example.net>")).isEqualTo("250 2.1.5 Ok");
            assertThat(c.command("DATA")).startsWith("354");
            assertThat(c.command("From: alice@example.com, bob@example.com\r\nSender: Alice <alice@example.com>\r\n"
                    + "Subject: two authors\r\n\r\nhello\r\n.")).startsWith("250 2.0.0 Ok: queued as");
        }
        await().atMost(Duration.ofSeconds(15)).until(() -> withText("Subject: two authors").size() == 1);
        assertThat(withText("Subject: forged by parser")).isEmpty();
    }

    @Test
    void aTrustedNetworkSubmitsWithoutAuthOverIpv6AndOthersMustAuthenticate() throws Exception {
        start(SHARED_LIMITS);
        try (RawSmtp c = new RawSmtp("::1", ipv6, false)) {
            c.command("EHLO sidecar");
            assertThat(c.command("MAIL FROM:<cron@example.com>")).isEqualTo("250 2.1.0 Ok");
            assertThat(c.command("RCPT TO:<ops@example.net>")).isEqualTo("250 2.1.5 Ok");
            assertThat(c.command("DATA")).startsWith("354");
            assertThat(c.command("Subject: from the sidecar\r\n\r\nhello\r\n.")).startsWith("250 2.0.0 Ok: queued as");
            assertThat(c.command("MAIL FROM:<cron@elsewhere.example>"))
                    .isEqualTo("553 5.7.1 Sender address rejected: not allowed from this network");
        }
        try (RawSmtp c = tlsSession()) {
            assertThat(c.command("MAIL FROM:<a@example.com>")).isEqualTo("530 5.7.0 Authentication required");
        }
        await().atMost(Duration.ofSeconds(15)).until(() -> withText("Subject: from the sidecar").size() == 1);
    }

    @Test
    void theRecipientAfterTheLimitGets452AndTheMessageGoesOn() throws Exception {
        start(SHARED_LIMITS);
        try (RawSmtp c = authenticated()) {
            c.command("MAIL FROM:<app@example.com>");
            assertThat(c.command("RCPT TO:<a@example.net>")).startsWith("250");
            assertThat(c.command("RCPT TO:<b@example.net>")).startsWith("250");
            assertThat(c.command("RCPT TO:<c@example.net>")).isEqualTo("452 4.5.3 Too many recipients");
            assertThat(c.command("DATA")).startsWith("354");
            assertThat(c.command("Subject: two\r\n\r\nhello\r\n.")).startsWith("250 2.0.0");
        }
    }

    @Test
    void anOversizedMessageIsRefusedWith552WhetherDeclaredOrNotAndTheSessionGoesOn() throws Exception {
        start(SHARED_LIMITS);
        try (RawSmtp c = authenticated()) {
            assertThat(c.command("EHLO client.test")).contains("SIZE 4096");
            assertThat(c.command("MAIL FROM:<app@example.com> SIZE=5000 BODY=8BITMIME"))
                    .isEqualTo("552 5.3.4 Message size exceeds fixed limit");
            assertThat(c.command("MAIL FROM:<app@example.com> SIZE=100")).isEqualTo("250 2.1.0 Ok");
            c.command("RCPT TO:<a@example.net>");
            assertThat(c.command("DATA")).startsWith("354");
            StringBuilder body = new StringBuilder("Subject: big\r\n\r\n");
            for (int i = 0; i < 200; i++) {
                body.append(i % 50 == 0 ? "QUIT\r\n" : "0123456789012345678901234567890123456789\r\n");
            }
            assertThat(c.command(body + ".")).isEqualTo("552 5.3.4 Message size exceeds fixed limit");
            assertThat(c.command("NOOP")).as("the body was not read as commands").isEqualTo("250 2.0.0 Ok");
            assertThat(c.command("MAIL FROM:<app@example.com>")).as("the transaction was reset")
                    .isEqualTo("250 2.1.0 Ok");
        }
    }

    @Test
    void pipelinedCommandsAreAnsweredInOrder() throws Exception {
        start(SHARED_LIMITS);
        try (RawSmtp c = authenticated()) {
            c.send("MAIL FROM:<app@example.com>\r\nRCPT TO:<a@example.net>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
            assertThat(c.reply()).isEqualTo("250 2.1.0 Ok");
            assertThat(c.reply()).isEqualTo("250 2.1.5 Ok");
            assertThat(c.reply()).isEqualTo("250 2.1.5 Ok");
            assertThat(c.reply()).startsWith("354");
            c.send("Subject: pipelined\r\n\r\nhello\r\n.\r\nRSET\r\nQUIT\r\n");
            assertThat(c.reply()).startsWith("250 2.0.0 Ok: queued as");
            assertThat(c.reply()).isEqualTo("250 2.0.0 Ok");
            assertThat(c.reply()).isEqualTo("221 2.0.0 Bye");
        }
        await().atMost(Duration.ofSeconds(15)).until(() -> withText("Subject: pipelined").size() == 1);
    }

    @Test
    void repliesToAPipelinedGroupArriveInOneTlsRecord() throws Exception {
        start(SHARED_LIMITS);
        String group = "MAIL FROM:<app@example.com>\r\nRCPT TO:<a@example.net>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n";
        String replies = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 ";
        try (RawSmtp c = authenticated()) { // STARTTLS
            c.send(group);
            assertThat(c.readOnce()).as("one record, one read (before: one record per reply)").startsWith(replies);
            c.send("Subject: one record\r\n\r\nhello\r\n.\r\n");
            assertThat(c.reply()).startsWith("250 2.0.0 Ok: queued as");
            assertThat(c.command("QUIT")).isEqualTo("221 2.0.0 Bye");
        }
        try (RawSmtp c = new RawSmtp(HOST, implicit, true)) {
            assertThat(c.command("EHLO client.example.com")).startsWith("250");
            assertThat(c.authPlain(TestRelay.USER, TestRelay.PASSWORD)).startsWith("235 2.7.0");
            c.send(group);
            assertThat(c.readOnce()).as("implicit TLS too").startsWith(replies);
            c.send("Subject: one record\r\n\r\nhello\r\n.\r\n");
            assertThat(c.reply()).startsWith("250 2.0.0 Ok: queued as");
        }
        await().atMost(Duration.ofSeconds(15)).until(() -> withText("Subject: one record").size() == 2);
    }

    /**
     * The three command lines that subethasmtp refuses itself, before the relay's commands see them: its reply has
     * no enhanced status code and it closes the connection (README, "What clients see", lists exactly these).
     */
    @Test
    void commandLinesSubethasmtpRefusesGetABare501AndTheConnectionCloses() throws Exception {
        start(SHARED_LIMITS);
        String crlfPaired = "501 Syntax error at character position \\d+\\. CR and LF must be CRLF paired\\."
                + "  See RFC 2821 #2\\.7\\.1\\.";
        assertThat(bare501("NOOP\nNOOP\r\n".getBytes(StandardCharsets.US_ASCII))).as("bare LF").matches(crlfPaired);
        assertThat(bare501("NOOP\rNOOP\r\n".getBytes(StandardCharsets.US_ASCII))).as("bare CR").matches(crlfPaired);
        String longLine = "NOOP " + "x".repeat(993) + "\r\n"; // 998 characters before the CRLF
        assertThat(bare501(longLine.getBytes(StandardCharsets.US_ASCII))).as("a command line of 998 characters")
                .isEqualTo("501 Input line length is too long!");
        byte[] invalidUtf8 = {'N', 'O', 'O', 'P', ' ', (byte) 0xc3, (byte) 0x28, '\r', '\n'};
        assertThat(bare501(invalidUtf8)).as("invalid UTF-8")
                .isEqualTo("501 Syntax error: invalid character encoding.");
        try (RawSmtp c = new RawSmtp(HOST, starttls, false)) {
            assertThat(c.command("NOOP " + "x".repeat(992))).as("997 characters still reach the relay")
                    .isEqualTo("250 2.0.0 Ok");
        }
    }

    /**
     * An unknown verb, and a line too short to hold one, are answered by subethasmtp's command table, which the
     * relay cannot replace: a bare 500 without an enhanced code; the session goes on (README, "What clients see").
     */
    @Test
    void unknownCommandsGetSubethasmtpsBare500AndTheSessionGoesOn() throws Exception {
        start(SHARED_LIMITS);
        try (RawSmtp c = new RawSmtp(HOST, starttls, false)) {
            assertThat(c.command("EHLO client.test")).startsWith("250");
            assertThat(c.command("XYZZY")).isEqualTo("500 Error: command not implemented");
            assertThat(c.command("AB")).isEqualTo("500 Error: bad syntax");
            assertThat(c.command("")).isEqualTo("500 Error: bad syntax");
            assertThat(c.command("NOOP")).as("the session goes on").isEqualTo("250 2.0.0 Ok");
        }
    }

    /** Sends {@code line} after EHLO; returns the reply and checks that the connection then closes. */
    private String bare501(byte[] line) throws Exception {
        try (RawSmtp c = new RawSmtp(HOST, starttls, false)) {
            assertThat(c.command("EHLO client.test")).startsWith("250");
            c.send(line);
            String reply = c.reply();
            assertThat(c.reply()).as("the connection closed after %s", reply).isNull();
            return reply;
        }
    }

    /** Each end-of-data look-alike, then an injected second transaction, then the real end. */
    @ParameterizedTest
    @ValueSource(strings = {"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\r", "\r\n.\n", "\r.\r\n", "\r.\n", "\n.\r"})
    void noEndOfDataLookAlikeCanSmuggleASecondMessage(String fakeEnd) throws Exception {
        start(SHARED_LIMITS);
        double before = relay.registry().get("relay.messages.received").counter().count();
        // bracketed: "LF.CR" must not match inside another variant's "LF.CRLF"
        String marker = "outer [" + fakeEnd.replace("\r", "CR").replace("\n", "LF") + "]";
        try (RawSmtp c = authenticated()) {
            c.command("MAIL FROM:<app@example.com>");
            c.command("RCPT TO:<a@example.net>");
            assertThat(c.command("DATA")).startsWith("354");
            c.send("Subject: " + marker + "\r\n\r\nfirst part" + fakeEnd
                    + "MAIL FROM:<app@example.com>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\n"
                    + "Subject: smuggled\r\n\r\nsmuggled body\r\n.\r\n");
            assertThat(c.reply()).startsWith("250 2.0.0 Ok: queued as");
            assertThat(c.command("NOOP")).as("nothing else was answered").isEqualTo("250 2.0.0 Ok");
        }
        await().atMost(Duration.ofSeconds(15)).until(() -> withText(marker).size() == 1);
        String eml = withText(marker).get(0);
        assertThat(eml).contains("X-Sink-Envelope-To: <a@example.net>", "Subject: smuggled", "smuggled body")
                .doesNotContain("victim@example.net>\r\nX-Sink").doesNotContain("\r\r").doesNotContain("\n\n");
        assertThat(relay.registry().get("relay.messages.received").counter().count() - before).isEqualTo(1.0);
    }

    @Test
    void missingMessageIdAndDateAreAddedAndReceivedNamesTheTls() throws Exception {
        start(SHARED_LIMITS);
        try (RawSmtp c = authenticated()) {
            c.command("MAIL FROM:<app@example.com>");
            c.command("RCPT TO:<a@example.net>");
            c.command("DATA");
            assertThat(c.command("Subject: bare\r\n\r\n..leading dot\r\n.")).startsWith("250");
            c.command("MAIL FROM:<app@example.com>");
            c.command("RCPT TO:<a@example.net>");
            c.command("DATA");
            assertThat(c.command("Message-ID: <given@example.com>\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
                    + "Subject: complete\r\n\r\nbody\r\n.")).startsWith("250");
        }
        await().atMost(Duration.ofSeconds(15)).until(() -> withText("Subject: bare").size() == 1
                && withText("Subject: complete").size() == 1);
        String bare = withText("Subject: bare").get(0);
        assertThat(bare).containsPattern("Message-ID: <[0-9a-f-]+@relay.test>\r\n")
                .containsPattern("Date: \\w{3}, \\d{1,2} \\w{3} \\d{4} ")
                .contains("with ESMTPSA (TLSv1.3 ", "\r\n\r\n.leading dot\r\n");
        String complete = withText("Subject: complete").get(0);
        assertThat(complete).contains("Message-ID: <given@example.com>").doesNotContain("@relay.test>");
        assertThat(complete.split("Date: ", -1)).hasSize(2);
    }

    @Test
    void connectionsAndMessagesPerConnectionAreLimited() throws Exception {
        start("max-connections-per-client: 2, max-messages-per-connection: 1");
        try (RawSmtp a = new RawSmtp(HOST, starttls, false); RawSmtp b = new RawSmtp(HOST, starttls, false);
             RawSmtp c = new RawSmtp(HOST, starttls, false)) {
            assertThat(a.greeting).startsWith("220");
            assertThat(b.greeting).startsWith("220");
            assertThat(c.greeting).isEqualTo("421 4.7.0 Too many connections from your address, try again later");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> relay.listeners().get(0).openSessions() == 0);
        try (RawSmtp c = authenticated()) {
            c.command("MAIL FROM:<app@example.com>");
            c.command("RCPT TO:<a@example.net>");
            c.command("DATA");
            assertThat(c.command("Subject: one\r\n\r\nx\r\n.")).startsWith("250");
            assertThat(c.command("MAIL FROM:<app@example.com>"))
                    .isEqualTo("421 4.7.0 Too many messages in one connection, reconnect to send more");
        }
    }

    @Test
    void aChangedUsersFileIsUsedWithoutARestart() throws Exception {
        // a relay of its own: the users file changes; the failures while the old file is in force must not lock
        // the client out before the reload (within 3 s) makes the new password good
        start("idle-timeout: 5m, auth-max-failures: 100");
        Files.writeString(dir.resolve("users"), UsersFile.line(TestRelay.USER, "rotated".toCharArray()) + "\n");
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(500)).until(() -> {
            try (RawSmtp c = tlsSession()) {
                return c.authPlain(TestRelay.USER, "rotated").startsWith("235");
            }
        });
        assertThatThrownBy(() -> Loopback.submit(starttls, Loopback.Tls.STARTTLS, TestRelay.USER,
                TestRelay.PASSWORD, "app@example.com", "b@example.net", "x", "x"))
                .isInstanceOf(MessagingException.class).hasMessageContaining("535");
    }

    @Test
    void aUserRemovedOrChangedInTheUsersFileCannotStartAMessageOnASessionOpenedBefore() throws Exception {
        start("idle-timeout: 5m, auth-max-failures: 100");
        try (RawSmtp removed = tlsSession(); RawSmtp rotated = authenticated()) {
            assertThat(removed.authPlain("narrow", "narrow-pw")).startsWith("235");
            assertThat(removed.command("MAIL FROM:<x@example.com>")).isEqualTo("250 2.1.0 Ok");
            assertThat(removed.command("RSET")).startsWith("250");
            // narrow is removed, app gets a new password
            Files.writeString(dir.resolve("users"), UsersFile.line(TestRelay.USER, "rotated".toCharArray()) + "\n"
                    + UsersFile.line("strict", "strict-pw".toCharArray()) + "\n");
            await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(250)).until(() -> {
                try (RawSmtp c = tlsSession()) {
                    return c.authPlain("narrow", "narrow-pw").startsWith("535");
                }
            });
            assertThat(removed.command("MAIL FROM:<x@example.com>"))
                    .isEqualTo("530 5.7.0 Authentication required: user narrow is no longer in the users file");
            assertThat(rotated.command("MAIL FROM:<app@example.com>"))
                    .isEqualTo("421 4.7.0 The credentials of user app changed: authenticate again");
        }
        assertThat(count("relay.inbound.refused", "reason", "auth_revoked")).isEqualTo(2.0);
    }

    List<String> withText(String text) throws IOException {
        return outbox().stream().filter(e -> e.contains(text)).toList();
    }

    double count(String name, String tag, String value) {
        return relay.registry().get(name).tag(tag, value).counter().count();
    }

    private static String b64(String s) {
        return java.util.Base64.getEncoder().encodeToString(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
