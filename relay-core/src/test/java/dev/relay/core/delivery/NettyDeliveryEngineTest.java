package dev.relay.core.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.TlsMode;
import dev.relay.core.delivery.Outcome.Delivered;
import dev.relay.core.delivery.Outcome.PermanentFailure;
import dev.relay.core.delivery.Outcome.TransientFailure;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.Body;
import dev.relay.testkit.TestUpstream;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.subethamail.smtp.auth.EasyAuthenticationHandlerFactory;
import org.subethamail.smtp.auth.LoginAuthenticationHandlerFactory;
import org.subethamail.smtp.auth.LoginFailedException;
import org.subethamail.smtp.auth.UsernamePasswordValidator;
import org.subethamail.smtp.helper.SimpleMessageListener;
import org.subethamail.smtp.server.SMTPServer;

class NettyDeliveryEngineTest {
    private static final String PASSWORD = "s3cret-Pa55";
    private static final MailAddress SENDER = MailAddress.of("alice@example.org");
    private static final MailAddress BOB = MailAddress.of("bob@example.net");
    private static final MailAddress CAROL = MailAddress.of("carol@example.net");
    private static final MailAddress DAVE = MailAddress.of("dave@example.net");
    private static final String BODY = "Subject: test\r\n\r\nfirst line\r\n.a line starting with a dot\r\n"
            + "..two dots\r\n.\r\nlast line\r\n";
    private static final UpstreamTarget.Timeouts FAST = new UpstreamTarget.Timeouts(Duration.ofSeconds(2),
            Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(2));

    private static EventLoopGroup group;
    private static TestCertificates cert;
    private static TestCertificates wrongName;

    @TempDir
    Path dir;

    @BeforeAll
    static void setUp() throws Exception {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        cert = TestCertificates.selfSigned("ip:127.0.0.1", "dns:localhost");
        wrongName = TestCertificates.selfSigned("dns:other.example");
    }

    @AfterAll
    static void tearDown() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    // ---- against a real server (subethasmtp) -------------------------------------------------------------------

    /** What the subethasmtp server received: one entry per recipient. */
    record Received(String from, String to, String data, String user) {}

    private SMTPServer subetha(List<Received> inbox, boolean implicit, boolean loginOnly) throws Exception {
        SSLContext ssl = cert.serverContext();
        java.util.concurrent.ConcurrentLinkedDeque<String> logins = new java.util.concurrent.ConcurrentLinkedDeque<>();
        UsernamePasswordValidator validator = (user, password, context) -> {
            if (!"relay".equals(user) || !PASSWORD.equals(password)) {
                throw new LoginFailedException();
            }
            logins.add(user);
        };
        SMTPServer.Builder b = SMTPServer.port(0)
                .bindAddress(InetAddress.getLoopbackAddress())
                .hostName("subetha.test")
                .insertReceivedHeaders(false)
                .requireAuth()
                .authenticationHandlerFactory(loginOnly ? new LoginAuthenticationHandlerFactory(validator)
                        : new EasyAuthenticationHandlerFactory(validator))
                .simpleMessageListener(new SimpleMessageListener() {
                    @Override
                    public boolean accept(String from, String recipient) {
                        return true;
                    }

                    @Override
                    public void deliver(String from, String recipient, InputStream data) throws IOException {
                        inbox.add(new Received(from, recipient,
                                new String(data.readAllBytes(), StandardCharsets.UTF_8), logins.peekLast()));
                    }
                });
        if (implicit) {
            b.serverSocketFactory(ssl);
        } else {
            b.enableTLS().requireTLS().startTlsSocketFactory(ssl);
        }
        SMTPServer server = b.build();
        server.start();
        return server;
    }

    @ParameterizedTest(name = "{0}, login only: {1}")
    @CsvSource({"STARTTLS, false", "STARTTLS, true", "IMPLICIT, false"})
    void deliversOverTlsWithAuthAndDotsArriveIntact(TlsMode mode, boolean loginOnly) throws Exception {
        List<Received> inbox = new CopyOnWriteArrayList<>();
        SMTPServer server = subetha(inbox, mode == TlsMode.IMPLICIT, loginOnly);
        ch.qos.logback.classic.Logger logger =
                (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("dev.relay.core.delivery");
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logs =
                new ch.qos.logback.core.read.ListAppender<>();
        logs.start();
        logger.addAppender(logs);
        try (NettyDeliveryEngine engine = engine(target(server.getPortAllocated(), mode, "relay",
                cert.writePem(dir)))) {
            DeliveryReport report = engine.deliver(envelope(BOB, CAROL), Body.wholeFile(body(BODY)))
                    .get(10, TimeUnit.SECONDS);

            assertThat(report.upstream()).isEqualTo("test-upstream");
            assertThat(report.byRecipient()).containsOnlyKeys(BOB, CAROL);
            assertThat(report.byRecipient().values()).allSatisfy(o -> assertThat(o).isInstanceOf(Delivered.class));
            assertThat(inbox).extracting(Received::to).containsExactlyInAnyOrder(BOB.value(), CAROL.value());
            assertThat(inbox).allSatisfy(r -> {
                assertThat(r.from()).isEqualTo(SENDER.value());
                assertThat(r.data()).isEqualTo(BODY);
                assertThat(r.user()).isEqualTo("relay");
            });
            String b64 = java.util.Base64.getEncoder().encodeToString(PASSWORD.getBytes(StandardCharsets.UTF_8));
            String plain = java.util.Base64.getEncoder().encodeToString(("\0relay\0" + PASSWORD)
                    .getBytes(StandardCharsets.UTF_8));
            assertThat(logs.list).isNotEmpty().noneMatch(e -> e.getFormattedMessage().contains(PASSWORD)
                    || e.getFormattedMessage().contains(b64) || e.getFormattedMessage().contains(plain));
        } finally {
            logger.detachAppender(logs);
            server.stop();
        }
    }

    @Test
    void twentyMessagesOverStartTlsWithAuthShareTwoConnections() throws Exception {
        List<Received> inbox = new CopyOnWriteArrayList<>();
        SMTPServer server = subetha(inbox, false, false);
        UpstreamTarget target = new UpstreamTarget("test-upstream", "127.0.0.1", server.getPortAllocated(),
                TlsMode.STARTTLS, "relay", PASSWORD, cert.writePem(dir), FAST,
                new UpstreamTarget.Pool(2, 100, Duration.ofSeconds(30)), UpstreamTarget.Rate.UNLIMITED, null, null);
        try (NettyDeliveryEngine engine = engine(target)) {
            Path body = body(BODY);
            List<java.util.concurrent.CompletableFuture<DeliveryReport>> all = new java.util.ArrayList<>();
            for (int i = 0; i < 20; i++) {
                all.add(engine.deliver(envelope(BOB), Body.wholeFile(body)));
            }
            for (var f : all) {
                assertThat(f.get(20, TimeUnit.SECONDS).byRecipient().get(BOB)).isInstanceOf(Delivered.class);
            }

            assertThat(inbox).hasSize(20).allSatisfy(r -> assertThat(r.data()).isEqualTo(BODY));
            assertThat(engine.stats().connectionsOpened()).isBetween(1L, 2L);
            assertThat(engine.stats().connectionsReused()).isEqualTo(20 - engine.stats().connectionsOpened());
        } finally {
            server.stop();
        }
    }

    @Test
    void untrustedCertificateIsTransientAndNothingIsSent() throws Exception {
        List<Received> inbox = new CopyOnWriteArrayList<>();
        SMTPServer server = subetha(inbox, false, false);
        try (NettyDeliveryEngine engine = engine(target(server.getPortAllocated(), TlsMode.STARTTLS, "relay",
                null))) {
            DeliveryReport report = engine.deliver(envelope(BOB), Body.wholeFile(body(BODY))).get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().get(BOB)).isInstanceOf(TransientFailure.class);
            assertThat(report.byRecipient().get(BOB).detail()).startsWith("TLS handshake with 127.0.0.1:")
                    .contains("failed");
            assertThat(inbox).isEmpty();
        } finally {
            server.stop();
        }
    }

    @Test
    void certificateForAnotherHostIsTransient() throws Exception {
        try (TestUpstream server = TestUpstream.implicitTls(wrongName.serverContext(), (n, c) -> c.drain());
             NettyDeliveryEngine engine = engine(target(server.port(), TlsMode.IMPLICIT, null,
                     wrongName.writePem(dir)))) {
            DeliveryReport report = engine.deliver(envelope(BOB), Body.wholeFile(body(BODY))).get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().get(BOB)).isInstanceOf(TransientFailure.class);
            assertThat(report.byRecipient().get(BOB).detail()).startsWith("TLS handshake with 127.0.0.1:")
                    .contains("No subject alternative names matching IP address 127.0.0.1");
        }
    }

    // ---- against scripted faults --------------------------------------------------------------------------------

    @Test
    void startTlsRequiredButNotOfferedIsTransientAndNothingIsSent() throws Throwable {
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.hello("AUTH PLAIN LOGIN", "8BITMIME");
            c.expect("QUIT");
            c.reply("221 bye");
            c.drain();
        }); NettyDeliveryEngine engine = engine(target(server.port(), TlsMode.STARTTLS, "relay", null))) {
            DeliveryReport report = engine.deliver(envelope(BOB), Body.wholeFile(body(BODY))).get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().get(BOB)).isEqualTo(new TransientFailure("upstream 127.0.0.1:"
                    + server.port() + " does not offer STARTTLS; refusing to send in plaintext"));
            server.awaitScript();
            assertThat(server.received()).hasSize(2).last().isEqualTo("QUIT");
        }
    }

    @Test
    void plaintextInjectedAfterTheStartTlsReplyIsRefused() throws Exception {
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.hello("STARTTLS", "AUTH PLAIN");
            c.expect("STARTTLS");
            c.reply("220 go ahead", "250 injected");
            c.drain();
        }); NettyDeliveryEngine engine = engine(target(server.port(), TlsMode.STARTTLS, "relay",
                cert.writePem(dir)))) {
            DeliveryReport report = engine.deliver(envelope(BOB), Body.wholeFile(body(BODY))).get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().get(BOB)).isInstanceOf(TransientFailure.class);
            assertThat(report.byRecipient().get(BOB).detail()).contains("possible injection");
            assertThat(server.received()).containsExactly("EHLO relay.test", "STARTTLS");
        }
    }

    @Test
    void authRefusedIsTransientWithTheReplyButNeverThePassword() throws Throwable {
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.hello("AUTH LOGIN PLAIN");
            c.expect("AUTH PLAIN ");
            c.reply("535 5.7.8 Authentication credentials invalid");
            c.expect("QUIT");
            c.reply("221 bye");
        }); NettyDeliveryEngine engine = engine(target(server.port(), TlsMode.NONE, "relay", null))) {
            DeliveryReport report = engine.deliver(envelope(BOB, CAROL), Body.wholeFile(body(BODY)))
                    .get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().values()).allSatisfy(o -> {
                assertThat(o).isInstanceOf(TransientFailure.class);
                assertThat(o.detail()).contains("535 5.7.8 Authentication credentials invalid")
                        .doesNotContain(PASSWORD);
            });
            server.awaitScript();
            assertThat(server.received()).noneMatch(l -> l.startsWith("MAIL"));
        }
    }

    @Test
    void anUpstreamOfferingOnlyAuthLoginGetsTheUserAndPasswordAtItsPromptsThenTheMessage() throws Throwable {
        // Microsoft 365 (smtp.office365.com) offers AUTH LOGIN alone: the user and the password each answer a
        // base64 prompt, and nothing else may be sent before 235
        java.util.Base64.Encoder b64 = java.util.Base64.getEncoder();
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.hello("AUTH LOGIN", "8BITMIME");
            c.expect("AUTH LOGIN");
            c.reply("334 VXNlcm5hbWU6");
            String user = c.read();
            if (!user.equals(b64.encodeToString("relay".getBytes(StandardCharsets.UTF_8)))) {
                throw new AssertionError("user line: " + user);
            }
            c.reply("334 UGFzc3dvcmQ6");
            String password = c.read();
            if (!password.equals(b64.encodeToString(PASSWORD.getBytes(StandardCharsets.UTF_8)))) {
                throw new AssertionError("password line differs");
            }
            c.reply("235 2.7.0 Authentication successful");
            c.expect("MAIL FROM:<alice@example.org>");
            c.reply("250 2.1.0 Sender OK");
            c.expect("RCPT TO:<bob@example.net>");
            c.reply("250 2.1.5 Recipient OK");
            c.expect("DATA");
            c.reply("354 Start mail input; end with <CRLF>.<CRLF>");
            if (!c.readData().equals(BODY)) {
                throw new AssertionError("content differs");
            }
            c.reply("250 2.0.0 OK <id@office365> [Hostname=AM0PR01MB1234]");
        }); NettyDeliveryEngine engine = engine(target(server.port(), TlsMode.NONE, "relay", null))) {
            DeliveryReport report = engine.deliver(envelope(BOB), Body.wholeFile(body(BODY))).get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient()).containsExactly(
                    entry(BOB, new Delivered("250 2.0.0 OK <id@office365> [Hostname=AM0PR01MB1234]")));
            server.awaitScript();
            assertThat(server.received()).element(1).isEqualTo("AUTH LOGIN");
        }
    }

    @Test
    void eachRecipientGetsItsOwnOutcome() throws Throwable {
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.hello("PIPELINING", "8BITMIME");
            c.expect("MAIL FROM:<alice@example.org>");
            c.reply("250 2.1.0 ok");
            c.expect("RCPT TO:<bob@example.net>");
            c.reply("250 2.1.5 ok");
            c.expect("RCPT TO:<carol@example.net>");
            c.reply("450 4.2.1 mailbox busy");
            c.expect("RCPT TO:<dave@example.net>");
            c.reply("550 5.1.1 user unknown");
            c.expect("DATA");
            c.reply("354 go ahead");
            if (!c.readData().equals(BODY)) {
                throw new AssertionError("content differs");
            }
            c.reply("250 2.0.0 queued as 12345");
        }); NettyDeliveryEngine engine = engine(target(server.port(), TlsMode.NONE, null, null))) {
            DeliveryReport report = engine.deliver(envelope(BOB, CAROL, DAVE), Body.wholeFile(body(BODY)))
                    .get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient()).containsExactly(
                    entry(BOB, new Delivered("250 2.0.0 queued as 12345")),
                    entry(CAROL, new TransientFailure("450 4.2.1 mailbox busy")),
                    entry(DAVE, new PermanentFailure("550 5.1.1 user unknown")));
            server.awaitScript();
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"554 5.6.0 message refused|PERMANENT", "451 4.3.0 try later|TRANSIENT",
            "250 2.0.0 ok|DELIVERED"})
    void finalReplyAfterDataDecidesTheAcceptedRecipients(String reply, String expected) throws Throwable {
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.hello();
            c.expect("MAIL FROM:");
            c.reply("250 ok");
            c.expect("RCPT TO:<bob@example.net>");
            c.reply("250 ok");
            c.expect("RCPT TO:<carol@example.net>");
            c.reply("550 5.1.1 no such user");
            c.expect("DATA");
            c.reply("354 go ahead");
            c.readData();
            c.reply(reply);
            if (expected.equals("TRANSIENT")) { // no reuse after a 4xx; otherwise the connection stays open
                c.expect("QUIT");
                c.reply("221 bye");
            }
        }); NettyDeliveryEngine engine = engine(target(server.port(), TlsMode.NONE, null, null))) {
            DeliveryReport report = engine.deliver(envelope(BOB, CAROL), Body.wholeFile(body(BODY)))
                    .get(10, TimeUnit.SECONDS);

            Outcome bob = report.byRecipient().get(BOB);
            assertThat(bob.detail()).isEqualTo(reply);
            assertThat(bob).isInstanceOf(switch (expected) {
                case "PERMANENT" -> PermanentFailure.class;
                case "TRANSIENT" -> TransientFailure.class;
                default -> Delivered.class;
            });
            assertThat(report.byRecipient().get(CAROL)).isEqualTo(new PermanentFailure("550 5.1.1 no such user"));
            server.awaitScript();
        }
    }

    @Test
    void connectionRefusedIsTransient() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        try (NettyDeliveryEngine engine = engine(target(port, TlsMode.NONE, null, null))) {
            DeliveryReport report = engine.deliver(envelope(BOB), Body.wholeFile(body(BODY))).get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().get(BOB)).isInstanceOf(TransientFailure.class);
            assertThat(report.byRecipient().get(BOB).detail()).startsWith("cannot connect to 127.0.0.1:" + port);
        }
    }

    @Test
    void silentServerTimesOutWaitingForTheGreeting() throws Exception {
        UpstreamTarget.Timeouts shortGreeting = new UpstreamTarget.Timeouts(Duration.ofSeconds(2),
                Duration.ofMillis(300), Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(2));
        try (TestUpstream server = TestUpstream.scripted((n, c) -> c.drain());
             NettyDeliveryEngine engine = engine(new UpstreamTarget("test-upstream", "127.0.0.1", server.port(),
                     TlsMode.NONE, null, null, null, shortGreeting))) {
            long start = System.nanoTime();
            DeliveryReport report = engine.deliver(envelope(BOB), Body.wholeFile(body(BODY))).get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().get(BOB)).isEqualTo(
                    new TransientFailure("timeout waiting for greeting from 127.0.0.1:" + server.port()));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"999 what", "abc hello", "abc", "199 early"})
    void malformedReplyIsAProtocolError(String line) throws Exception {
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.reply("220 fake.test ESMTP");
            c.expect("EHLO");
            c.reply(line);
            c.drain();
        }); NettyDeliveryEngine engine = engine(target(server.port(), TlsMode.NONE, null, null))) {
            DeliveryReport report = engine.deliver(envelope(BOB), Body.wholeFile(body(BODY))).get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().get(BOB)).isInstanceOf(TransientFailure.class);
            assertThat(report.byRecipient().get(BOB).detail()).startsWith("protocol error");
        }
    }

    @Test
    void connectionDroppedDuringDataIsTransient() throws Exception {
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.hello();
            c.expect("MAIL FROM:");
            c.reply("250 ok");
            c.expect("RCPT TO:");
            c.reply("250 ok");
            c.expect("DATA");
            c.reply("354 go ahead");
            c.read();
        }); NettyDeliveryEngine engine = engine(target(server.port(), TlsMode.NONE, null, null))) {
            DeliveryReport report = engine.deliver(envelope(BOB), Body.wholeFile(body(BODY))).get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().get(BOB)).isInstanceOf(TransientFailure.class);
            assertThat(report.byRecipient().get(BOB).detail()).contains("during DATA");
        }
    }

    @Test
    void nonAsciiAddressesGoOutAsUtf8WhenSmtpUtf8IsOffered() throws Throwable {
        MailAddress jose = MailAddress.of("jos\u00e9@exampl\u00e9.net");
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.hello("SMTPUTF8", "8BITMIME");
            c.expect("MAIL FROM:<alice@example.org> SMTPUTF8");
            c.reply("250 ok");
            c.expect("RCPT TO:<" + jose.value() + ">");
            c.reply("250 ok");
            c.expect("DATA");
            c.reply("354 go ahead");
            c.readData();
            c.reply("250 ok");
        }); NettyDeliveryEngine engine = engine(target(server.port(), TlsMode.NONE, null, null))) {
            DeliveryReport report = engine.deliver(envelope(jose), Body.wholeFile(body(BODY)))
                    .get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().get(jose)).isEqualTo(new Delivered("250 ok"));
            server.awaitScript();
        }
    }

    @Test
    void nonAsciiAddressWithoutSmtpUtf8IsPermanent() throws Throwable {
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.hello("8BITMIME");
        }); NettyDeliveryEngine engine = engine(target(server.port(), TlsMode.NONE, null, null))) {
            MailAddress jose = MailAddress.of("josé@example.net");
            DeliveryReport report = engine.deliver(envelope(jose), Body.wholeFile(body(BODY)))
                    .get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().get(jose)).isInstanceOf(PermanentFailure.class);
            assertThat(report.byRecipient().get(jose).detail()).contains("SMTPUTF8");
            server.awaitScript();
        }
    }

    @Test
    void smtputf8SubmissionWithAsciiAddressesAsksForSmtpUtf8OnMailFrom() throws Throwable {
        String content = "Subject: gr\u00fc\u00dfe\r\nFrom: Jos\u00e9 <alice@example.org>\r\n\r\nhi\r\n";
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.hello("SMTPUTF8", "8BITMIME");
            c.expect("MAIL FROM:<alice@example.org> BODY=8BITMIME SMTPUTF8");
            c.reply("250 ok");
            c.expect("RCPT TO:<bob@example.net>");
            c.reply("250 ok");
            c.expect("DATA");
            c.reply("354 go ahead");
            c.readData();
            c.reply("250 ok");
        }); NettyDeliveryEngine engine = engine(target(server.port(), TlsMode.NONE, null, null))) {
            DeliveryReport report = engine.deliver(utf8Envelope(BOB), Body.wholeFile(body(content)))
                    .get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().get(BOB)).isEqualTo(new Delivered("250 ok"));
            server.awaitScript();
        }
    }

    @Test
    void smtputf8SubmissionToAnUpstreamWithoutSmtpUtf8IsPermanent() throws Throwable {
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.hello("8BITMIME");
        }); NettyDeliveryEngine engine = engine(target(server.port(), TlsMode.NONE, null, null))) {
            DeliveryReport report = engine.deliver(utf8Envelope(BOB), Body.wholeFile(body(BODY)))
                    .get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().get(BOB)).isInstanceOf(PermanentFailure.class);
            assertThat(report.byRecipient().get(BOB).detail()).contains("submitted with SMTPUTF8");
            server.awaitScript();
        }
    }

    @Test
    void largeEightBitBodyIsStreamedInChunksWithSizeAndBodyParameters() throws Throwable {
        StringBuilder sb = new StringBuilder("Subject: gro\u00dfe Nachricht\r\n\r\n");
        for (int i = 0; sb.length() < 3 * DotStuffedBody.CHUNK; i++) {
            sb.append(i % 7 == 0 ? "." : "").append("line ").append(i).append(" gr\u00fc\u00dfe\r\n");
        }
        String content = sb.toString();
        Path file = body(content);
        long size = Files.size(file);
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.hello("SIZE 10000000", "8BITMIME");
            c.expect("MAIL FROM:<alice@example.org> SIZE=" + size + " BODY=8BITMIME");
            c.reply("250 ok");
            c.expect("RCPT TO:<bob@example.net>");
            c.reply("250 ok");
            c.expect("DATA");
            c.reply("354 go ahead");
            if (!c.readData().equals(content)) {
                throw new AssertionError("content differs");
            }
            c.reply("250 2.0.0 ok");
        }); NettyDeliveryEngine engine = engine(target(server.port(), TlsMode.NONE, null, null))) {
            DeliveryReport report = engine.deliver(envelope(BOB), Body.wholeFile(file)).get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().get(BOB)).isEqualTo(new Delivered("250 2.0.0 ok"));
            server.awaitScript();
        }
    }

    @Test
    void messageOverTheUpstreamsSizeLimitIsPermanent() throws Throwable {
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.hello("SIZE 10");
        }); NettyDeliveryEngine engine = engine(target(server.port(), TlsMode.NONE, null, null))) {
            DeliveryReport report = engine.deliver(envelope(BOB), Body.wholeFile(body(BODY))).get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().get(BOB)).isInstanceOf(PermanentFailure.class);
            assertThat(report.byRecipient().get(BOB).detail()).contains("exceeds the limit of 10 bytes");
            server.awaitScript();
        }
    }

    @Test
    void noReplyAfterTheDataIsATimeout() throws Exception {
        UpstreamTarget.Timeouts shortEnd = new UpstreamTarget.Timeouts(Duration.ofSeconds(2),
                Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofMillis(300));
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.hello();
            c.expect("MAIL FROM:");
            c.reply("250 ok");
            c.expect("RCPT TO:");
            c.reply("250 ok");
            c.expect("DATA");
            c.reply("354 go ahead");
            c.readData();
            c.drain();
        }); NettyDeliveryEngine engine = engine(new UpstreamTarget("test-upstream", "127.0.0.1", server.port(),
                TlsMode.NONE, null, null, null, shortEnd))) {
            DeliveryReport report = engine.deliver(envelope(BOB), Body.wholeFile(body(BODY))).get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().get(BOB)).isEqualTo(new TransientFailure(
                    "timeout waiting for end-of-data reply from 127.0.0.1:" + server.port()));
        }
    }

    @Test
    void fallsBackToHeloWhenEhloIsRefused() throws Throwable {
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.reply("220 old.test SMTP");
            c.expect("EHLO relay.test");
            c.reply("502 5.5.2 command not recognized");
            c.expect("HELO relay.test");
            c.reply("250 old.test");
            c.expect("MAIL FROM:<alice@example.org>");
            c.reply("250 ok");
            c.expect("RCPT TO:<bob@example.net>");
            c.reply("250 ok");
            c.expect("DATA");
            c.reply("354 go ahead");
            c.readData();
            c.reply("250 ok");
        }); NettyDeliveryEngine engine = engine(target(server.port(), TlsMode.NONE, null, null))) {
            DeliveryReport report = engine.deliver(envelope(BOB), Body.wholeFile(body(BODY))).get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().get(BOB)).isEqualTo(new Delivered("250 ok"));
            server.awaitScript();
        }
    }

    @Test
    void missingBodyFileAndClosedEngineAreTransient() throws Exception {
        NettyDeliveryEngine engine = engine(target(2525, TlsMode.NONE, null, null));
        DeliveryReport missing = engine.deliver(envelope(BOB), Body.wholeFile(dir.resolve("gone.eml")))
                .get(10, TimeUnit.SECONDS);
        assertThat(missing.byRecipient().get(BOB)).isInstanceOf(TransientFailure.class);
        assertThat(missing.byRecipient().get(BOB).detail()).startsWith("cannot read the message content");

        engine.close();
        DeliveryReport closed = engine.deliver(envelope(BOB), Body.wholeFile(body(BODY))).get(10, TimeUnit.SECONDS);
        assertThat(closed.byRecipient().get(BOB)).isInstanceOf(TransientFailure.class);
        assertThat(closed.byRecipient().get(BOB).detail()).contains("closed");
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private static <K, V> java.util.Map.Entry<K, V> entry(K k, V v) {
        return java.util.Map.entry(k, v);
    }

    private NettyDeliveryEngine engine(UpstreamTarget target) {
        return new NettyDeliveryEngine(target, group, "relay.test");
    }

    private static UpstreamTarget target(int port, TlsMode mode, String user, Path trust) {
        return new UpstreamTarget("test-upstream", "127.0.0.1", port, mode, user, user == null ? null : PASSWORD,
                trust, FAST);
    }

    private static Envelope envelope(MailAddress... recipients) {
        return Envelope.received(QueueId.next(Instant.now()), SENDER, List.of(recipients), Instant.now(), "alice");
    }

    private static Envelope utf8Envelope(MailAddress... recipients) {
        return Envelope.received(QueueId.next(Instant.now()), SENDER, List.of(recipients), Instant.now(), "alice",
                true);
    }

    private Path body(String content) throws Exception {
        Path file = Files.createTempFile(dir, "body", ".eml");
        Files.writeString(file, content, StandardCharsets.UTF_8);
        return file;
    }
}
