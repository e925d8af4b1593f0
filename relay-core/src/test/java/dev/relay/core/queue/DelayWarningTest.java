package dev.relay.core.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.core.delivery.Outcome;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.Spool;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code queue.delay-warning}: one warning per message still undelivered after the time, to its sender, with the
 * fields of RFC 3464's {@code Action: delayed}; at a deferral or at the warning time, never twice (not across a
 * restart either), never for a null sender, a message delivered in time, or when off. The clock is a fake one.
 */
class DelayWarningTest {
    private static final Duration WARN = Duration.ofHours(4);
    private static final Duration LIFETIME = Duration.ofDays(5);
    private static final MailAddress SENDER = MailAddress.of("app@example.com");
    private static final MailAddress BOB = MailAddress.of("bob@example.net");
    private static final MailAddress CAROL = MailAddress.of("carol@example.org");
    private static final String BUSY = "451 4.3.2 mailbox busy, try later";

    @TempDir
    Path dir;

    final FakeClock clock = new FakeClock(Instant.parse("2026-11-01T00:00:00Z"));
    final List<String> events = new CopyOnWriteArrayList<>();
    final QueueListener listener = new QueueListener() {
        @Override
        public void delayWarned(Envelope envelope, List<MailAddress> recipients, QueueId dsn) {
            events.add("warned " + envelope.id() + " " + recipients + " dsn=" + (dsn != null));
        }
    };
    final QueueStateMachineTest.Engine engine = new QueueStateMachineTest.Engine(
            r -> r.equals(BOB) ? new Outcome.TransientFailure(BUSY) : new Outcome.Delivered("250 ok"));
    Spool spool;
    QueueManager q;

    /** A queue whose transient failures are retried after {@code backoff}, always. */
    private QueueManager start(Duration backoff, QueueManager.Bounces bounces) throws Exception {
        spool = Spool.open(dir);
        q = new QueueManager(spool, engine, clock, new RetryPolicy(backoff, backoff, LIFETIME, () -> 0.0), 4,
                listener, bounces, QueueManager.DEFAULT_FAILED_RETENTION);
        q.start();
        return q;
    }

    private QueueManager start(Duration backoff) throws Exception {
        return start(backoff, new QueueManager.Bounces(true, "relay.example.com", WARN));
    }

    private void restart(Duration backoff) throws Exception {
        q.stop(Duration.ofSeconds(2));
        spool.close();
        start(backoff);
    }

    @AfterEach
    void stop() {
        QueueManagerTest.stopBoth(q, spool);
    }

    /** Starts a queue on {@code bounces}, submits a message from {@code sender} to bob and waits for its deferral. */
    private QueueId deferredFrom(MailAddress sender, Duration backoff, QueueManager.Bounces bounces) throws Exception {
        start(backoff, bounces);
        QueueId id = submit(sender, BOB);
        deferredAfter(id, 1);
        return id;
    }

    /** Exactly the one warning so far. */
    private void assertOneWarning() {
        assertThat(warnings()).hasSize(1);
        assertThat(events).hasSize(1);
    }

    private QueueId submit(MailAddress sender, MailAddress... to) throws Exception {
        return q.submit(sender, List.of(to), "app", new ByteArrayInputStream(
                "Subject: invoice 42\r\nMessage-ID: <m42@example.com>\r\n\r\nthe body\r\n".getBytes()));
    }

    /** The deferred envelope of {@code id} once its attempt number {@code attempts} is settled. */
    private Envelope deferredAfter(QueueId id, int attempts) {
        await().atMost(Duration.ofSeconds(10)).until(() -> spool.peek(QueueState.DEFERRED, id)
                .map(s -> s.envelope().attempts() == attempts).orElse(false));
        return spool.peek(QueueState.DEFERRED, id).orElseThrow().envelope();
    }

    /** Moves the clock and lets the scheduler and the warning wake-up look at it. */
    private void advance(Duration d) {
        clock.advance(d);
        q.wake();
    }

    /** The delay warnings delivered so far (from the null sender, to {@link #SENDER}). */
    private List<Envelope> warnings() {
        return engine.seen.stream().filter(e -> e.sender().isNullSender()).toList();
    }

    @Test
    void aWarningDueWhileAHandOffByHandHasTheMessageIsSentOnceItIsGivenBack() throws Exception {
        QueueId id = deferredFrom(SENDER, Duration.ofDays(1), new QueueManager.Bounces(true, "relay.example.com",
                WARN));
        HandoffClaims claims = q.handoffClaims();
        HandoffClaims.Claimed c = claims.claim(id).orElseThrow();
        advance(WARN.plusMinutes(1)); // the warning's time comes while the hand-off holds it: skipped for now
        assertThat(events).isEmpty();

        claims.keep(c, c.stored().envelope().recipients()); // the peer refused: back to deferred

        await().atMost(Duration.ofSeconds(10)).until(() -> !events.isEmpty());
        assertOneWarning();
        assertThat(spool.peek(QueueState.DEFERRED, id).orElseThrow().envelope().delayWarned()).isTrue();
    }

    @Test
    void aDeferralPastTheTimeWarnsTheSenderOnceForThePendingRecipientsWithTheReportFields() throws Exception {
        start(Duration.ofHours(1));
        QueueId id = submit(SENDER, BOB, CAROL);
        Instant received = clock.instant();
        assertThat(deferredAfter(id, 1).delayWarned()).isFalse();
        for (int attempt = 2; attempt <= 4; attempt++) { // 1h, 2h, 3h: before the time, no warning
            advance(Duration.ofHours(1));
            deferredAfter(id, attempt);
        }
        assertThat(warnings()).isEmpty();

        advance(Duration.ofHours(1)); // 4h: the fifth attempt fails too
        Envelope after = deferredAfter(id, 5);
        assertThat(after.delayWarned()).as("recorded with the deferral").isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> warnings().size() == 1);
        Envelope warning = warnings().get(0);
        assertThat(warning.recipients()).containsExactly(SENDER);
        String dsn = engine.bodies.get(warning.id());
        DateTimeFormatter date = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);
        assertThat(dsn).contains("Subject: Delayed Mail (still being retried)",
                "Content-Type: multipart/report; report-type=delivery-status", "Auto-Submitted: auto-replied",
                "THIS IS A WARNING ONLY", "There is nothing you need to do",
                "keeps trying until " + date.format(received.plus(LIFETIME)),
                "Final-Recipient: rfc822; bob@example.net\r\nAction: delayed\r\nStatus: 4.3.2\r\n"
                        + "Diagnostic-Code: smtp; " + BUSY + "\r\nWill-Retry-Until: "
                        + date.format(received.plus(LIFETIME)) + "\r\n",
                "Subject: invoice 42", "Message-ID: <m42@example.com>")
                .as("carol got it at the first attempt: only bob is delayed").doesNotContain("carol@")
                .doesNotContain("the body");
        assertThat(events).containsExactly("warned " + id + " [" + BOB + "] dsn=true");

        advance(Duration.ofHours(1)); // still failing: no second warning
        deferredAfter(id, 6);
        assertOneWarning();
    }

    @Test
    void theWarningComesAtItsTimeWhenTheNextRetryIsMuchLaterAndNotAgainAfterARestart() throws Exception {
        QueueId id = deferredFrom(SENDER, Duration.ofHours(10), new QueueManager.Bounces(true, "relay.example.com", WARN));
        Envelope first = spool.peek(QueueState.DEFERRED, id).orElseThrow().envelope();

        restart(Duration.ofHours(10)); // the wake-up is rebuilt from deferred/
        advance(WARN);
        await().atMost(Duration.ofSeconds(10)).until(() -> warnings().size() == 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> spool.peek(QueueState.DEFERRED, id)
                .map(s -> s.envelope().delayWarned()).orElse(false));
        Envelope warned = spool.peek(QueueState.DEFERRED, id).orElseThrow().envelope();
        assertThat(warned.attempts()).as("no attempt was made for it").isEqualTo(1);
        assertThat(warned.nextAttempt()).as("its retry time stays").isEqualTo(first.nextAttempt());
        assertThat(engine.seenFor(id)).hasSize(1);
        assertThat(engine.bodies.get(warnings().get(0).id())).contains("Action: delayed", "Status: 4.3.2");

        restart(Duration.ofHours(10));
        advance(Duration.ofHours(6)); // the retry is due and fails again, after a restart: no second warning
        deferredAfter(id, 2);
        assertOneWarning();
    }

    @Test
    void aMessageDeliveredBeforeTheTimeGetsNoWarning() throws Exception {
        QueueId id = deferredFrom(SENDER, Duration.ofHours(3), new QueueManager.Bounces(true, "relay.example.com", WARN));
        engine.rule = r -> new Outcome.Delivered("250 ok");
        advance(Duration.ofHours(3));
        await().atMost(Duration.ofSeconds(10)).until(() -> spool.stateOf(id).isEmpty());

        advance(WARN);
        assertThat(q.queued()).isZero();
        assertThat(warnings()).isEmpty();
        assertThat(events).isEmpty();
    }

    @Test
    void aMessageFromTheNullSenderIsNeverWarned() throws Exception {
        QueueId id = deferredFrom(MailAddress.NULL_SENDER, Duration.ofHours(5), new QueueManager.Bounces(true, "relay.example.com", WARN));
        advance(Duration.ofHours(5)); // past the time, at a deferral
        Envelope e = deferredAfter(id, 2);

        assertThat(e.delayWarned()).isFalse();
        assertThat(engine.seen).allMatch(s -> s.id().equals(id));
        assertThat(events).isEmpty();
    }

    @Test
    void offByDefaultNoWarningEver() throws Exception {
        QueueId id = deferredFrom(SENDER, Duration.ofDays(1), new QueueManager.Bounces(true, "relay.example.com"));
        advance(Duration.ofDays(1));
        deferredAfter(id, 2);
        advance(Duration.ofDays(1));
        Envelope e = deferredAfter(id, 3);

        assertThat(e.delayWarned()).isFalse();
        assertThat(warnings()).isEmpty();
        assertThat(events).isEmpty();
    }

    @Test
    void withBouncesOnlyLoggedTheWarningIsLoggedAndRecordedButNotSent() throws Exception {
        QueueId id = deferredFrom(SENDER, Duration.ofHours(5), new QueueManager.Bounces(false, "relay.example.com",
                WARN));
        advance(Duration.ofHours(5));

        assertThat(deferredAfter(id, 2).delayWarned()).isTrue();
        assertThat(events).containsExactly("warned " + id + " [" + BOB + "] dsn=false");
        assertThat(warnings()).isEmpty();
    }
}
