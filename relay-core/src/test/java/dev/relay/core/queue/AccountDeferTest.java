package dev.relay.core.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.core.delivery.AccountReplies;
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
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Settling replies about the relay's account: deferred whatever their code, never bounced for it; no sooner than
 * the verdict's wait; kept for {@code queue.account-problem-lifetime}, then expired as usual; delivered once the
 * account is right again.
 */
class AccountDeferTest {
    private static final MailAddress SENDER = MailAddress.of("app@example.com");
    private static final MailAddress BOB = MailAddress.of("bob@example.net");
    private static final Duration LIFETIME = Duration.ofHours(1);
    private static final Duration ACCOUNT_LIFETIME = Duration.ofDays(3);
    private static final AccountReplies.Verdict DAILY_LIMIT = new AccountReplies.Verdict(AccountReplies.Action.DEFER,
            "daily_limit", "wait", Duration.ofHours(24));
    private static final AccountReplies.Verdict AUTH_OFF = new AccountReplies.Verdict(
            AccountReplies.Action.ACCOUNT_PROBLEM, "smtp_auth_disabled", "turn SMTP AUTH on", null);

    @TempDir
    Path dir;

    final FakeClock clock = new FakeClock(Instant.parse("2026-11-01T00:00:00Z"));
    Spool spool;
    QueueManager q;

    private QueueManagerTest.ScriptedEngine start(Outcome outcome) throws Exception {
        QueueManagerTest.ScriptedEngine engine = new QueueManagerTest.ScriptedEngine(r -> outcome);
        spool = Spool.open(dir.resolve("spool"));
        q = new QueueManager(spool, engine, clock, new RetryPolicy(Duration.ofMinutes(1), Duration.ofMinutes(10),
                LIFETIME, () -> 0.0), 4, QueueListener.NONE, QueueManager.Bounces.logOnly(),
                QueueManager.DEFAULT_FAILED_RETENTION, ACCOUNT_LIFETIME);
        q.start();
        return engine;
    }

    @AfterEach
    void stop() {
        if (q != null) {
            q.stop(Duration.ofSeconds(2));
        }
        if (spool != null) {
            spool.close();
        }
    }

    private QueueId submit() throws Exception {
        return q.submit(SENDER, List.of(BOB), "app", new ByteArrayInputStream("Subject: t\r\n\r\nbody\r\n".getBytes()));
    }

    private Envelope awaitIn(QueueState state, QueueId id, int attempts) {
        await().atMost(Duration.ofSeconds(10)).until(() -> spool.list(state).contains(id)
                && spool.peek(state, id).orElseThrow().envelope().attempts() == attempts);
        return spool.peek(state, id).orElseThrow().envelope();
    }

    @Test
    void aDailyLimitReplyDefersUntilTheLimitReopensInsteadOfBouncing() throws Exception {
        QueueManagerTest.ScriptedEngine engine = start(new Outcome.TransientFailure(
                "550 5.4.5 Daily user sending limit exceeded.", DAILY_LIMIT));
        QueueId id = submit();

        Envelope e = awaitIn(QueueState.DEFERRED, id, 1);
        assertThat(e.nextAttempt()).as("the verdict's 24 h, not the 1 min backoff; within the account lifetime")
                .isEqualTo(clock.instant().plus(Duration.ofHours(24)));
        assertThat(spool.list(QueueState.FAILED)).isEmpty();

        engine.rule = r -> new Outcome.Delivered("250 ok"); // the window reopened
        clock.advance(Duration.ofHours(24));
        q.wake();
        await().atMost(Duration.ofSeconds(10)).until(() -> !spool.list(QueueState.DEFERRED).contains(id));
        assertThat(spool.list(QueueState.FAILED)).isEmpty();
        assertThat(engine.seen).hasSize(2);
    }

    @Test
    void anAccountProblemOutlivesTheMessageLifetimeThenExpiresAsUsual() throws Exception {
        start(new Outcome.TransientFailure("535 5.7.139 Authentication unsuccessful", AUTH_OFF));
        QueueId id = submit();
        awaitIn(QueueState.DEFERRED, id, 1);

        clock.advance(LIFETIME.plusMinutes(1)); // past the message lifetime: a plain 4xx would expire here
        q.wake();
        Envelope e = awaitIn(QueueState.DEFERRED, id, 2);
        assertThat(e.lastError()).contains("5.7.139");

        clock.advance(ACCOUNT_LIFETIME);
        q.wake();
        awaitIn(QueueState.FAILED, id, 3);
    }

    @Test
    void aPlainTransientFailureStillExpiresAtTheMessageLifetime() throws Exception {
        start(new Outcome.TransientFailure("451 4.3.0 try later"));
        QueueId id = submit();
        awaitIn(QueueState.DEFERRED, id, 1);

        clock.advance(LIFETIME.plusMinutes(1));
        q.wake();
        awaitIn(QueueState.FAILED, id, 2);
    }
}
