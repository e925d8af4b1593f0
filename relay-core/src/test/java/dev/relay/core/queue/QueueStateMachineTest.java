package dev.relay.core.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.relay.core.delivery.DeliveryEngine;
import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.Body;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.Spool;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The queue's states and transitions, driven by a fake clock and an engine that answers from a script. */
class QueueStateMachineTest {
    private static final Duration MIN = Duration.ofMinutes(1);
    private static final Duration MAX = Duration.ofHours(1);
    private static final Duration LIFETIME = Duration.ofDays(5);
    private static final MailAddress SENDER = MailAddress.of("app@example.com");

    @TempDir
    Path dir;

    final FakeClock clock = new FakeClock(Instant.parse("2026-11-01T00:00:00Z"));
    final List<String> events = new CopyOnWriteArrayList<>();
    Spool spool;
    QueueManager q;

    /** Answers each recipient by a rule; {@code held} deliveries complete only when released by the test. */
    static final class Engine implements DeliveryEngine {
        final List<Envelope> seen = new CopyOnWriteArrayList<>();
        final Map<QueueId, String> bodies = new ConcurrentHashMap<>();
        final Map<QueueId, Long> startedNanos = new ConcurrentHashMap<>();
        volatile Function<MailAddress, Outcome> rule;
        volatile boolean park;
        final List<CompletableFuture<DeliveryReport>> parked = new CopyOnWriteArrayList<>();

        Engine(Function<MailAddress, Outcome> rule) {
            this.rule = rule;
        }

        @Override
        public CompletableFuture<DeliveryReport> deliver(Envelope envelope, Body body) {
            startedNanos.putIfAbsent(envelope.id(), System.nanoTime());
            seen.add(envelope);
            try {
                bodies.put(envelope.id(), read(body));
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
            Map<MailAddress, Outcome> map = new LinkedHashMap<>();
            envelope.recipients().forEach(r -> map.put(r, rule.apply(r)));
            DeliveryReport report = new DeliveryReport("test", map);
            if (park) {
                CompletableFuture<DeliveryReport> f = new CompletableFuture<>();
                parked.add(f);
                return f.thenApply(x -> report);
            }
            return CompletableFuture.completedFuture(report);
        }

        /**
         * Completes the deliveries parked now, and only those. Completing one frees the window, so the scheduler may
         * park the next delivery while this runs: that one stays parked for the next call (clearing the list after
         * completing it once dropped such a delivery uncompleted, and the window of one stayed full for good).
         */
        void releaseParked() {
            List<CompletableFuture<DeliveryReport>> now = List.copyOf(parked);
            parked.removeAll(now);
            now.forEach(f -> f.complete(null));
        }

        List<Envelope> seenFor(QueueId id) {
            return seen.stream().filter(e -> e.id().equals(id)).toList();
        }

        @Override
        public void close() {}
    }

    final QueueListener listener = new QueueListener() {
        @Override
        public void expired(Envelope envelope, List<MailAddress> recipients, Duration age) {
            events.add("expired " + envelope.id() + " " + recipients);
        }

        @Override
        public void bounced(Envelope envelope, List<MailAddress> recipients, boolean sent) {
            events.add("bounced " + envelope.id() + " " + recipients + " sent=" + sent);
        }

        @Override
        public void attempted(Envelope envelope, int attempt) {
            events.add("attempt " + envelope.id() + " " + attempt);
        }
    };

    private QueueManager start(Engine engine, int window, boolean sendBounces) throws Exception {
        spool = Spool.open(dir);
        q = new QueueManager(spool, engine, clock, new RetryPolicy(MIN, MAX, LIFETIME, () -> 0.0), window,
                listener, new QueueManager.Bounces(sendBounces, "relay.example.com"),
                QueueManager.DEFAULT_FAILED_RETENTION);
        q.start();
        return q;
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

    private QueueId submit(MailAddress sender, String... rcpts) throws Exception {
        List<MailAddress> to = new ArrayList<>();
        for (String r : rcpts) {
            to.add(MailAddress.of(r));
        }
        return q.submit(sender, to, "app", new ByteArrayInputStream(
                "From: app@example.com\r\nSubject: quarterly report\r\n\r\nsecret body\r\n".getBytes()));
    }

    /**
     * Runs an operator action, again while the queue answers that the message is between two states: its file
     * reaches deferred/ a moment before the scheduler owns it again, and an action in that moment is told to try
     * again (by design). Waiting for the file alone made these tests flaky.
     */
    private static <T> T settled(java.util.concurrent.Callable<T> action) {
        java.util.concurrent.atomic.AtomicReference<T> result = new java.util.concurrent.atomic.AtomicReference<>();
        await().ignoreExceptionsMatching(e -> e instanceof QueueAdmin.ActionException
                && e.getMessage().endsWith("try again in a moment")).until(() -> {
                    result.set(action.call());
                    return true;
                });
        return result.get();
    }

    /** The condition holds now and keeps holding for a while: proves that something does not happen. */
    private static void stillTrue(java.util.concurrent.Callable<Boolean> condition) {
        await().during(Duration.ofMillis(150)).atMost(Duration.ofSeconds(2)).until(condition);
    }

    private void advance(Duration d) {
        clock.advance(d);
        q.wake();
    }

    private static Outcome ok() {
        return new Outcome.Delivered("250 2.0.0 ok");
    }

    private static Outcome busy() {
        return new Outcome.TransientFailure("451 4.3.0 try later");
    }

    @Test
    void partialFailureIsRetriedOnlyForPendingRecipientsWithGrowingBackoff() throws Exception {
        Engine engine = new Engine(r -> r.value().startsWith("later") ? busy() : ok());
        start(engine, 4, true);
        QueueId id = submit(SENDER, "now@y.org", "later@y.org");
        await().until(() -> spool.list(QueueState.DEFERRED).contains(id));
        Envelope deferred = spool.load(QueueState.DEFERRED, id).orElseThrow().envelope();
        assertThat(deferred.recipients()).containsExactly(MailAddress.of("later@y.org"));
        assertThat(deferred.nextAttempt()).isEqualTo(clock.instant().plus(MIN));

        advance(Duration.ofSeconds(59));
        stillTrue(() -> engine.seenFor(id).size() == 1); // nothing due yet: the scheduler does not jump the gun
        advance(Duration.ofSeconds(1));
        await().until(() -> engine.seenFor(id).size() == 2);
        assertThat(engine.seenFor(id).get(1).recipients()).containsExactly(MailAddress.of("later@y.org"));
        await().until(() -> spool.list(QueueState.DEFERRED).contains(id)
                && spool.peek(QueueState.DEFERRED, id).orElseThrow().envelope().attempts() == 2);
        assertThat(spool.peek(QueueState.DEFERRED, id).orElseThrow().envelope().nextAttempt())
                .isEqualTo(clock.instant().plus(MIN.multipliedBy(2)));

        engine.rule = r -> ok();
        advance(MIN.multipliedBy(2));
        await().until(() -> q.queued() == 0);
        assertThat(engine.seenFor(id)).hasSize(3);
        assertThat(spool.bodyPath(id)).doesNotExist();
    }

    @Test
    void expiryFailsPendingRecipientsAndQueuesABounceWithNullSender() throws Exception {
        Engine engine = new Engine(r -> r.value().equals(SENDER.value()) ? ok() : busy());
        start(engine, 4, true);
        QueueId id = submit(SENDER, "slow@y.org");
        await().until(() -> spool.list(QueueState.DEFERRED).contains(id));
        advance(LIFETIME); // the next attempt is the last one: the lifetime is over
        await().until(() -> spool.list(QueueState.FAILED).contains(id));
        Envelope failed = spool.load(QueueState.FAILED, id).orElseThrow().envelope();
        assertThat(failed.lastError()).isEqualTo("expired after 5d: last error: 451 4.3.0 try later");
        await().until(() -> engine.seen.stream().anyMatch(e -> e.sender().isNullSender()));
        Envelope bounce = engine.seen.stream().filter(e -> e.sender().isNullSender()).findFirst().orElseThrow();
        assertThat(bounce.recipients()).containsExactly(SENDER);
        assertThat(engine.bodies.get(bounce.id())).contains("Status: 5.4.7",
                "Final-Recipient: rfc822; slow@y.org", "Subject: quarterly report").doesNotContain("secret body");
        assertThat(events).contains("expired " + id + " [slow@y.org]", "bounced " + id + " [slow@y.org] sent=true");
        await().until(() -> q.queued() == 0);
    }

    @Test
    void aBounceThatFailsIsNeverBounced() throws Exception {
        Engine engine = new Engine(r -> new Outcome.PermanentFailure("550 5.1.1 no such user"));
        start(engine, 4, true);
        QueueId id = submit(SENDER, "gone@y.org");
        // the original fails, its bounce to the sender fails too; nothing further is generated
        await().until(() -> spool.list(QueueState.FAILED).size() == 2 && q.queued() == 0);
        assertThat(engine.seen).hasSize(2);
        Envelope bounce = engine.seen.get(1);
        assertThat(bounce.sender().isNullSender()).isTrue();
        assertThat(spool.list(QueueState.FAILED)).contains(id, bounce.id());
        assertThat(events.stream().filter(e -> e.startsWith("bounced"))).containsExactly(
                "bounced " + id + " [gone@y.org] sent=true");
    }

    @Test
    void withBouncesLoggedNoNotificationIsQueued() throws Exception {
        Engine engine = new Engine(r -> new Outcome.PermanentFailure("550 5.1.1 no such user"));
        start(engine, 4, false);
        QueueId id = submit(SENDER, "gone@y.org");
        await().until(() -> spool.list(QueueState.FAILED).contains(id) && q.queued() == 0);
        assertThat(engine.seen).hasSize(1);
        assertThat(events).contains("bounced " + id + " [gone@y.org] sent=false");
    }

    @Test
    void heldMessageIsNeverScheduledAndReleaseDeliversIt() throws Exception {
        Engine engine = new Engine(r -> busy());
        start(engine, 4, true);
        QueueAdmin admin = q.admin();
        QueueId id = submit(SENDER, "b@y.org");
        await().until(() -> spool.list(QueueState.DEFERRED).contains(id));
        assertThat(settled(() -> admin.hold(id))).isEqualTo(QueueState.DEFERRED);
        assertThat(spool.list(QueueState.HOLD)).containsExactly(id);
        assertThat(q.queued()).isZero();
        advance(Duration.ofDays(1));
        admin.retryAll();
        stillTrue(() -> engine.seenFor(id).size() == 1);
        assertThatThrownBy(() -> admin.retry(id)).hasMessageContaining("held");

        engine.rule = r -> ok();
        admin.release(id);
        await().until(() -> engine.seenFor(id).size() == 2 && q.queued() == 0);
        assertThat(spool.bodyPath(id)).doesNotExist();
    }

    @Test
    void heldMessagesSurviveARestartUnscheduled() throws Exception {
        Engine engine = new Engine(r -> busy());
        start(engine, 4, true);
        QueueId id = submit(SENDER, "b@y.org");
        await().until(() -> spool.list(QueueState.DEFERRED).contains(id));
        settled(() -> q.admin().hold(id));
        q.stop(Duration.ofSeconds(1));
        spool.close();
        engine.rule = r -> ok();
        advance(Duration.ofHours(2));
        start(engine, 4, true);
        stillTrue(() -> engine.seenFor(id).size() == 1);
        assertThat(spool.list(QueueState.HOLD)).containsExactly(id);
        assertThat(spool.bodyPath(id)).exists(); // recovery keeps the body of a held message
        assertThat(engine.seenFor(id)).hasSize(1);
    }

    @Test
    void failedMessagesAreRemovedAfterTheRetention() throws Exception {
        Engine engine = new Engine(r -> new Outcome.PermanentFailure("550 5.1.1 no such user"));
        start(engine, 4, false);
        QueueId id = submit(SENDER, "gone@y.org");
        await().until(() -> spool.list(QueueState.FAILED).contains(id) && q.queued() == 0);
        advance(QueueManager.DEFAULT_FAILED_RETENTION.minusMinutes(1));
        assertThat(q.sweepFailed()).isZero();
        advance(Duration.ofMinutes(1));
        assertThat(q.sweepFailed()).isEqualTo(1);
        assertThat(spool.list(QueueState.FAILED)).isEmpty();
        assertThat(spool.bodyPath(id)).doesNotExist();
    }

    @Test
    void newMailIsNotStarvedByABacklogOfDueDeferredMail() throws Exception {
        Engine engine = new Engine(r -> busy());
        start(engine, 1, true);
        List<QueueId> backlog = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            backlog.add(submit(SENDER, "backlog" + i + "@y.org"));
        }
        await().until(() -> spool.list(QueueState.DEFERRED).size() == 20);
        engine.seen.clear();
        engine.park = true; // one delivery at a time, completed by the test: the window is full
        engine.rule = r -> ok();
        advance(Duration.ofHours(1)); // the whole backlog is due
        await().until(() -> engine.parked.size() == 1);
        QueueId fresh = submit(SENDER, "new@y.org");
        // the window frees one slot at a time: the new message goes on the next turn or the one after
        for (int i = 0; i < 3 && engine.seenFor(fresh).isEmpty(); i++) {
            engine.releaseParked();
            int n = i + 2;
            await().until(() -> engine.seen.size() >= n);
        }
        assertThat(engine.seenFor(fresh)).hasSize(1);
        assertThat(engine.seen.indexOf(engine.seenFor(fresh).get(0))).isLessThanOrEqualTo(2);
        engine.park = false;
        engine.releaseParked();
        await().until(() -> q.queued() == 0);
        // every message of the backlog had exactly one more attempt: none was deferred again or lost on the way
        for (QueueId id : backlog) {
            assertThat(engine.seenFor(id)).hasSize(1);
        }
        assertThat(spool.list(QueueState.DEFERRED)).isEmpty();
    }

    @Test
    void deliveryStartsOnCommitWithoutWaitingForTheClock() throws Exception {
        Engine engine = new Engine(r -> ok());
        start(engine, 4, true);
        QueueId id = submit(SENDER, "b@y.org");
        long committed = System.nanoTime(); // the 250 would be sent now
        await().atMost(Duration.ofSeconds(2)).until(() -> engine.startedNanos.containsKey(id));
        // the scheduler sleeps up to a second when idle: starting well before proves the commit woke it
        assertThat(Duration.ofNanos(engine.startedNanos.get(id) - committed)).isLessThan(Duration.ofMillis(500));
    }

    @Test
    void operatorActionsFollowTheStates() throws Exception {
        Engine engine = new Engine(r -> r.value().startsWith("bad") ? new Outcome.PermanentFailure("550 5.1.1 no")
                : busy());
        start(engine, 4, false);
        QueueAdmin admin = q.admin();
        QueueId deferred = submit(SENDER, "b@y.org");
        QueueId failed = submit(MailAddress.of("other@example.com"), "bad@y.org");
        await().until(() -> spool.list(QueueState.DEFERRED).contains(deferred)
                && spool.list(QueueState.FAILED).contains(failed));

        assertThat(admin.list(QueueAdmin.Filter.ALL)).extracting(QueueAdmin.Message::id)
                .containsExactlyInAnyOrder(deferred, failed);
        assertThat(admin.list(new QueueAdmin.Filter(java.util.Set.of(QueueState.FAILED), null, null, null)))
                .extracting(QueueAdmin.Message::id).containsExactly(failed);
        assertThat(admin.list(new QueueAdmin.Filter(null, "OTHER@", null, null))).extracting(QueueAdmin.Message::id)
                .containsExactly(failed);
        assertThat(admin.list(new QueueAdmin.Filter(null, null, "b@y", null))).extracting(QueueAdmin.Message::id)
                .containsExactly(deferred);
        assertThat(admin.list(new QueueAdmin.Filter(null, null, null, Duration.ofMinutes(1)))).isEmpty();
        advance(Duration.ofSeconds(30));
        assertThat(admin.list(new QueueAdmin.Filter(null, null, null, Duration.ofSeconds(30)))).hasSize(2);

        QueueAdmin.Message shown = admin.show(deferred).orElseThrow();
        assertThat(shown.state()).isEqualTo(QueueState.DEFERRED);
        assertThat(shown.attempts()).isEqualTo(1);
        assertThat(shown.lastError()).isEqualTo("451 4.3.0 try later");
        assertThat(shown.size()).isPositive();

        settled(() -> {
            admin.retry(deferred); // due now although its backoff has not passed
            return null;
        });
        await().until(() -> engine.seenFor(deferred).size() == 2);
        assertThatThrownBy(() -> admin.retry(failed)).hasMessageContaining("requeue");

        engine.rule = r -> ok();
        admin.requeue(failed);
        await().until(() -> engine.seenFor(failed).size() == 2 && !spool.list(QueueState.FAILED).contains(failed));
        assertThat(engine.seenFor(failed).get(1).recipients()).containsExactly(MailAddress.of("bad@y.org"));

        await().until(() -> spool.list(QueueState.DEFERRED).contains(deferred));
        assertThat(settled(() -> admin.delete(deferred))).isEqualTo(QueueState.DEFERRED);
        assertThat(spool.bodyPath(deferred)).doesNotExist();
        assertThat(admin.show(deferred)).isEmpty();
        assertThatThrownBy(() -> admin.delete(deferred)).isInstanceOfSatisfying(QueueAdmin.ActionException.class,
                e -> assertThat(e.notFound()).isTrue());
        await().until(() -> q.queued() == 0);
        QueueAdmin.Stats stats = admin.stats();
        assertThat(stats.messages().get(QueueState.DEFERRED)).isZero();
        assertThat(stats.oldest()).isEmpty();
    }

    /** A message's content, as the engine reads it. */
    static String read(Body body) throws java.io.IOException {
        try (java.io.InputStream in = body.open()) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }
}
