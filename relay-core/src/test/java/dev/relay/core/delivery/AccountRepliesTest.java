package dev.relay.core.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.TlsMode;
import dev.relay.config.UpstreamAuth;
import dev.relay.core.delivery.AccountReplies.Action;
import dev.relay.core.delivery.AccountReplies.Phase;
import dev.relay.core.delivery.Outcome.Delivered;
import dev.relay.core.delivery.Outcome.TransientFailure;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.Body;
import dev.relay.testkit.TestUpstream;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The account reply table, and an upstream answering as each provider does: deferred, alerted once, resumed. */
class AccountRepliesTest {
    private static final MailAddress BOB = MailAddress.of("bob@example.net");
    private static final UpstreamTarget.Timeouts FAST = new UpstreamTarget.Timeouts(Duration.ofSeconds(2),
            Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(2));
    private static EventLoopGroup group;

    @TempDir
    Path dir;

    @BeforeAll
    static void setUp() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterAll
    static void tearDown() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    @ParameterizedTest(name = "{0} {1}: {2}")
    @CsvSource(delimiter = '|', value = {
            "m365|AUTH|535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."
                    + "|ACCOUNT_PROBLEM|smtp_auth_disabled",
            "m365|AUTH|550 5.7.30 Basic authentication is not supported for Client Submission.|ACCOUNT_PROBLEM"
                    + "|basic_auth_unsupported",
            "m365|DATA|554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied"
                    + "|ACCOUNT_PROBLEM|send_as_denied",
            "ses|MAIL|454 Throttling failure: Maximum sending rate exceeded|SLOW_DOWN|sending_rate",
            "ses|MAIL|454 Throttling failure: Daily message quota exceeded|DEFER|daily_quota",
            "ses|DATA|554 Message rejected: Email address is not verified. The following identities failed the check"
                    + "|ACCOUNT_PROBLEM|sender_not_verified",
            "gmail|MAIL|550 5.4.5 Daily user sending limit exceeded.|DEFER|daily_limit",
            "gmail|RCPT|450 4.2.1 Peak SMTP relay limit exceeded for customer.|SLOW_DOWN|rate_limit",
            "sendgrid|MAIL|451 Authentication failed: Maximum credits exceeded|ACCOUNT_PROBLEM|credits_exceeded",
            "sendgrid|MAIL|403 You are not authorized to send from that email address|ACCOUNT_PROBLEM"
                    + "|sender_not_verified",
            "sendgrid|DATA|550 The from address does not match a verified Sender Identity. Mail cannot be sent "
                    + "until this error is resolved.|ACCOUNT_PROBLEM|sender_not_verified",
            "sendgrid|AUTH|535 Authentication failed: Bad username / password|ACCOUNT_PROBLEM|authentication",
            "sendgrid|MAIL|550 Unauthenticated senders not allowed|ACCOUNT_PROBLEM|not_authenticated",
            "mailgun|DATA|421 Domain sandbox0123.mailgun.org is not allowed to send: Sandbox subdomains are for test "
                    + "purposes only. Please add your own domain or add the address to authorized recipients in "
                    + "Account Settings.|ACCOUNT_PROBLEM|domain_not_allowed",
            "acs|AUTH|535 5.7.3 Authentication unsuccessful|ACCOUNT_PROBLEM|authentication",
            "gmail|AUTH|535 5.7.8 Username and Password not accepted. Learn more at|ACCOUNT_PROBLEM|authentication",
            "ses|DATA|554 Account is paused.|ACCOUNT_PROBLEM|account_paused",
            // generic rows, for any upstream
            "mailgun|MAIL|530 5.7.57 Client not authenticated to send mail.|ACCOUNT_PROBLEM|authentication",
            "postmark|DATA|550 Account sending quota reached|DEFER|quota",
            "ses|MAIL|550 5.4.5 Daily user sending limit exceeded.|DEFER|quota",
            "acs|RCPT|451 4.7.0 Sending rate exceeded, try again later|SLOW_DOWN|rate"})
    void providerRepliesAreAboutTheAccount(String provider, Phase phase, String reply, Action action, String reason) {
        AccountReplies.Verdict v = new AccountReplies(provider, List.of()).classify(phase, reply);
        assertThat(v).isNotNull();
        assertThat(v.action()).isEqualTo(action);
        assertThat(v.reason()).isEqualTo(reason);
        assertThat(v.fix()).isNotBlank();
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', value = {
            "RCPT|550 5.1.1 The email account that you tried to reach does not exist",
            "RCPT|552 5.2.2 The recipient's mailbox is over its quota",
            "DATA|452 4.2.2 Mailbox full: quota exceeded",
            "DATA|554 5.7.1 Message rejected as spam",
            "RCPT|550 5.7.139 Authentication unsuccessful"}) // an M365 reply: not for a generic upstream at RCPT
    void theMessagesOwnFailuresStayTheMessages(Phase phase, String reply) {
        assertThat(AccountReplies.GENERIC.classify(phase, reply)).isNull();
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', value = {
            "acs|535 5.7.3 Authentication unsuccessful|Entra application",
            "sendgrid|535 Authentication failed: Bad username / password|literal word apikey",
            "gmail|535 5.7.8 Username and Password not accepted.|app password",
            "postmark|535 5.7.8 Authentication failed|check the credentials"}) // no Postmark row: the generic one
    void anAuthenticationRefusalGetsTheProvidersOwnFix(String provider, String reply, String fix) {
        assertThat(new AccountReplies(provider, List.of()).classify(Phase.AUTH, reply).fix()).contains(fix);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', value = {
            "mailgun|RCPT|421 4.7.0 Too many connections from your host",
            "acs|RCPT|535 5.7.3 Authentication unsuccessful",
            "sendgrid|DATA|535 Authentication failed: Bad username / password"})
    void aProviderRowMatchesOnlyItsTextAtItsPhase(String provider, Phase phase, String reply) {
        assertThat(new AccountReplies(provider, List.of()).classify(phase, reply)).isNull();
    }

    @Test
    void theUsersRowsComeFirst() {
        AccountReplies replies = new AccountReplies("ses", List.of(new AccountReplies.Rule(null, null,
                Pattern.compile("^554 Message rejected"), new AccountReplies.Verdict(Action.DEFER, "mine", "wait",
                Duration.ofMinutes(5)), "test")));

        assertThat(replies.classify(Phase.DATA, "554 Message rejected: Email address is not verified").reason())
                .isEqualTo("mine");
    }

    @Test
    void sesDailyQuotaDefersWithItsWaitAlertsOnceAndEndsWhenDeliveryResumes() throws Exception {
        Events events = new Events();
        try (TestUpstream ses = TestUpstream.plain()
                .mailReply(n -> n < 3 ? "454 Throttling failure: Daily message quota exceeded" : null);
             NettyDeliveryEngine engine = engine("ses", ses.port(), null, events)) {
            for (int i = 0; i < 3; i++) {
                Outcome o = deliver(engine);
                assertThat(o).isInstanceOf(TransientFailure.class);
                AccountReplies.Verdict v = ((TransientFailure) o).account();
                assertThat(v.action()).isEqualTo(Action.DEFER);
                assertThat(v.deferFor()).isEqualTo(Duration.ofHours(1));
            }
            assertThat(events.list).containsExactly("ses-test daily_quota true");

            assertThat(deliver(engine)).isInstanceOf(Delivered.class);
            assertThat(events.list).containsExactly("ses-test daily_quota true", "ses-test recovered");
        }
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', value = {
            "gmail|550 5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits go to "
                    + "https://support.google.com/a/answer/166852|daily_limit",
            "sendgrid|451 Authentication failed: Maximum credits exceeded|credits_exceeded",
            "sendgrid|403 You are not authorized to send from that email address|sender_not_verified",
            "m365|554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to "
                    + "process message due to a permanent exception with message Cannot submit message|send_as_denied",
            "m365|530 5.7.57 Client not authenticated to send mail.|authentication",
            // no documented quota or account reply was found for Mailgun, Postmark and ACS: these made-up texts show
            // the generic quota row catching such a reply for their upstreams
            "mailgun|550 Sending quota exceeded for the domain|quota",
            "postmark|550 Account sending quota reached|quota",
            "acs|550 5.7.1 Sending quota exceeded for this resource|quota"})
    void eachProvidersAccountReplyAtMailDefersAlertsOnceAndClearsWhenItsOver(String provider, String reply,
                                                                             String reason) throws Exception {
        Events events = new Events();
        try (TestUpstream upstream = TestUpstream.plain().mailReply(n -> n < 2 ? reply : null);
             NettyDeliveryEngine engine = engine(provider, upstream.port(), null, events)) {
            for (int i = 0; i < 2; i++) {
                Outcome o = deliver(engine);
                assertThat(o).as("deferred, not bounced").isInstanceOf(TransientFailure.class);
                assertThat(((TransientFailure) o).account().reason()).isEqualTo(reason);
            }
            assertThat(deliver(engine)).isInstanceOf(Delivered.class);
            assertThat(events.list).containsExactly(provider + "-test " + reason + " true",
                    provider + "-test recovered");
            assertThat(upstream.messages()).isEqualTo(1);
        }
    }

    @Test
    void m365WithSmtpAuthDisabledIsAnAccountProblemNotABounceUntilItIsTurnedOn() throws Exception {
        Events events = new Events();
        ch.qos.logback.classic.Logger logger =
                (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(ConnectionPool.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logs =
                new ch.qos.logback.core.read.ListAppender<>();
        logs.start();
        logger.addAppender(logs);
        try (TestUpstream m365 = TestUpstream.plain().authMechanisms("LOGIN")
                .authReply("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
                        + "Tenant.");
             NettyDeliveryEngine engine = engine("m365", m365.port(), "relay@example.com", events)) {
            Outcome first = deliver(engine);
            Outcome second = deliver(engine);
            assertThat(List.of(first, second)).allSatisfy(o -> {
                assertThat(o).isInstanceOf(TransientFailure.class);
                assertThat(((TransientFailure) o).account().action()).isEqualTo(Action.ACCOUNT_PROBLEM);
            });
            assertThat(events.list).containsExactly("m365-test smtp_auth_disabled true");
            assertThat(logs.list).as("one ERROR line with the fix, not one per message")
                    .filteredOn(e -> e.getLevel() == ch.qos.logback.classic.Level.ERROR).singleElement()
                    .satisfies(e -> assertThat(e.getFormattedMessage()).contains("m365-test", "smtp_auth_disabled",
                            "535 5.7.139", "deferred, not bounced", "Fix: SMTP AUTH is off"));

            m365.authReply("235 2.7.0 Authentication successful"); // the admin turned SMTP AUTH on
            assertThat(deliver(engine)).isInstanceOf(Delivered.class);
            assertThat(events.list).containsExactly("m365-test smtp_auth_disabled true",
                    "m365-test recovered");
        } finally {
            logger.detachAppender(logs);
        }
    }

    @Test
    void aFiveHundredAboutTheAccountIsTransientButTheMessagesOwnStaysPermanent() throws Exception {
        try (TestUpstream ses = TestUpstream.plain()
                .mailReply(n -> n == 0 ? "554 Message rejected: Email address is not verified. The following "
                        + "identities failed the check in region EU-WEST-1: alice@example.org"
                        : "550 5.1.8 Sender address rejected");
             NettyDeliveryEngine engine = engine("ses", ses.port(), null, new Events())) {
            assertThat(deliver(engine)).isInstanceOf(TransientFailure.class);
            assertThat(deliver(engine)).isInstanceOf(Outcome.PermanentFailure.class);
        }
    }

    @Test
    void theFirstDeliveryOfANewEngineClearsWhatAReplacedOneRaised() throws Exception {
        Events events = new Events();
        try (TestUpstream sink = TestUpstream.plain();
             NettyDeliveryEngine engine = engine("ses", sink.port(), null, events)) {
            assertThat(deliver(engine)).isInstanceOf(Delivered.class);
            assertThat(deliver(engine)).isInstanceOf(Delivered.class);
            assertThat(events.list).containsExactly("ses-test recovered"); // once, not per delivery
        }
    }

    /** The listener's account events, as "upstream reason true" and "upstream recovered". */
    static final class Events implements DeliveryListener {
        final List<String> list = new CopyOnWriteArrayList<>();

        @Override
        public void accountProblem(String upstream, String reason, String fix) {
            list.add(upstream + " " + reason + " true");
        }

        @Override
        public void accountRecovered(String upstream) {
            list.add(upstream + " recovered");
        }
    }

    private Outcome deliver(NettyDeliveryEngine engine) throws Exception {
        Path file = Files.createTempFile(dir, "body", ".eml");
        Files.writeString(file, "Subject: t\r\n\r\nhello\r\n", StandardCharsets.UTF_8);
        Envelope envelope = Envelope.received(QueueId.next(Instant.now()), MailAddress.of("alice@example.org"),
                List.of(BOB), Instant.now(), "alice");
        return engine.deliver(envelope, Body.wholeFile(file)).get(10, TimeUnit.SECONDS).byRecipient().get(BOB);
    }

    private static NettyDeliveryEngine engine(String provider, int port, String username, DeliveryListener events) {
        UpstreamTarget target = new UpstreamTarget(provider + "-test", "127.0.0.1", port, TlsMode.NONE, username,
                username == null ? null : "secret", null, FAST, UpstreamTarget.Pool.DEFAULT,
                UpstreamTarget.Rate.UNLIMITED, UpstreamAuth.AUTO, null, new AccountReplies(provider, List.of()));
        return new NettyDeliveryEngine(target, group, "relay.test", events, InstantSource.system(),
                new Backpressure(Duration.ofMillis(1), Duration.ofMillis(1), Duration.ofHours(1)));
    }
}
