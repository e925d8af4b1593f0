package dev.relay.core.queue;

import static org.assertj.core.api.Assertions.assertThat;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QueueManagerTest {
    @TempDir
    Path dir;

    /** The queue's clock: it moves only when a test advances it, so no test waits for a backoff in real time. */
    final FakeClock clock = new FakeClock(Instant.parse("2026-11-01T00:00:00Z"));

    /** A queue on {@link #clock} whose transient failures are retried after a fixed {@code retryDelay}. */
    private QueueManager queue(Spool spool, DeliveryEngine engine, Duration retryDelay, int window,
                               QueueListener listener) {
        return new QueueManager(spool, engine, clock, RetryPolicy.fixed(retryDelay), window, listener,
                QueueManager.Bounces.logOnly(), QueueManager.DEFAULT_FAILED_RETENTION);
    }

    /** An engine that answers each recipient by a rule and records what it was given. */
    static final class ScriptedEngine implements DeliveryEngine {
        final List<Envelope> seen = new CopyOnWriteArrayList<>();
        final List<String> bodies = new CopyOnWriteArrayList<>();
        volatile Function<MailAddress, Outcome> rule;

        ScriptedEngine(Function<MailAddress, Outcome> rule) {
            this.rule = rule;
        }

        @Override
        public CompletableFuture<DeliveryReport> deliver(Envelope envelope, Body body) {
            seen.add(envelope);
            try {
                bodies.add(read(body));
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
            Map<MailAddress, Outcome> map = new LinkedHashMap<>();
            envelope.recipients().forEach(r -> map.put(r, rule.apply(r)));
            return CompletableFuture.completedFuture(new DeliveryReport("test", map));
        }

        @Override
        public void close() {}
    }

    private static ByteArrayInputStream body() {
        return new ByteArrayInputStream("Subject: t\r\n\r\nhello\r\n".getBytes());
    }

    /** An engine whose deliveries finish only when the test says so, until it is opened up. */
    static final class HeldEngine implements DeliveryEngine {
        final List<CompletableFuture<DeliveryReport>> held = new CopyOnWriteArrayList<>();
        final List<Envelope> seen = new CopyOnWriteArrayList<>();
        private boolean open;

        @Override
        public synchronized CompletableFuture<DeliveryReport> deliver(Envelope envelope, Body body) {
            seen.add(envelope);
            CompletableFuture<DeliveryReport> f = new CompletableFuture<>();
            held.add(f);
            if (open) {
                f.complete(DeliveryReport.all("test", envelope.recipients(), new Outcome.Delivered("250 ok")));
            }
            return f;
        }

        /**
         * Releases the held deliveries and every one from now on: at the end of a test, so that close() need not
         * wait out its grace for a delivery the window started after the last release (it took 10 s more when the
         * scheduler won that race).
         */
        synchronized void openUp() {
            open = true;
            releaseAll();
        }

        synchronized void releaseAll() {
            for (int i = 0; i < seen.size(); i++) {
                held.get(i).complete(DeliveryReport.all("test", seen.get(i).recipients(),
                        new Outcome.Delivered("250 ok")));
            }
        }

        @Override
        public void close() {}
    }

    /** A listener that records the in-flow pauses' lengths. */
    private static QueueListener pausesInto(List<Long> pauses) {
        return new QueueListener() {
            @Override
            public void inflowPaused(long nanos) {
                pauses.add(nanos);
            }
        };
    }

    @Test
    void submissionsPauseWhileNewMailOutrunsDeliveryAndGoOnWhenItCatchesUp() throws Exception {
        HeldEngine engine = new HeldEngine();
        List<Long> pauses = new CopyOnWriteArrayList<>();
        QueueListener listener = pausesInto(pauses);
        try (Spool spool = Spool.open(dir);
             QueueManager q = queue(spool, engine, Duration.ofMinutes(1), 4, listener)) {
            q.start();
            // 4 in delivery (held), then FLOW_BACKLOG waiting: no pause yet
            for (int i = 0; i < 4; i++) {
                q.submit(MailAddress.of("a@x.org"), List.of(MailAddress.of("b@y.org")), "demo", body());
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> engine.seen.size() == 4);
            for (int i = 0; i < QueueManager.FLOW_BACKLOG; i++) {
                q.submit(MailAddress.of("a@x.org"), List.of(MailAddress.of("b@y.org")), "demo", body());
            }
            assertThat(pauses).isEmpty();
            // one more: committed (its 250 would wait), paused until delivery makes room
            CompletableFuture<QueueId> next = CompletableFuture.supplyAsync(() -> {
                try {
                    return q.submit(MailAddress.of("a@x.org"), List.of(MailAddress.of("b@y.org")), "demo", body());
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            // wait for the pause itself: a sleep of the test thread says nothing about when the other thread
            // started (under load it started late, and a pause shorter than the sleep failed a fixed lower bound)
            await().atMost(Duration.ofSeconds(5)).until(() -> q.submissionsPaused() == 1);
            long pausedAt = System.nanoTime();
            await().during(Duration.ofMillis(150)).atMost(Duration.ofSeconds(1)).until(() -> !next.isDone());
            long heldFor = System.nanoTime() - pausedAt;
            engine.releaseAll(); // the 4 finish, 4 more start: the backlog falls to the limit
            QueueId id = next.get(5, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(spool.stateOf(id)).isPresent(); // durable before the pause, as any commit
            assertThat(pauses).hasSize(1);
            assertThat(pauses.get(0)).as("the pause lasted until delivery made room")
                    .isBetween(heldFor, 1_000_000_000L + 500_000_000L);
            engine.openUp(); // the 4 started since, and any after: close() need not wait out its grace for them
        }
    }

    @Test
    void aPausedSubmissionGoesOnAfterOneSecondEvenIfDeliveryIsStuck() throws Exception {
        HeldEngine engine = new HeldEngine();
        List<Long> pauses = new CopyOnWriteArrayList<>();
        QueueListener listener = pausesInto(pauses);
        try (Spool spool = Spool.open(dir);
             QueueManager q = queue(spool, engine, Duration.ofMinutes(1), 1, listener)) {
            q.start();
            q.submit(MailAddress.of("a@x.org"), List.of(MailAddress.of("b@y.org")), "demo", body());
            await().atMost(Duration.ofSeconds(5)).until(() -> engine.seen.size() == 1); // in delivery, held
            for (int i = 0; i < 1 + QueueManager.FLOW_BACKLOG; i++) {
                q.submit(MailAddress.of("a@x.org"), List.of(MailAddress.of("b@y.org")), "demo", body());
            }
            assertThat(pauses).as("the last one found the backlog above the limit").hasSize(1);
            assertThat(pauses.get(0)).as("a pause, never a refusal or a hang")
                    .isBetween(900_000_000L, 3_000_000_000L);
            assertThat(q.queued()).isEqualTo(2 + QueueManager.FLOW_BACKLOG);
            engine.openUp(); // close() need not wait out its grace for the held delivery
        }
    }

    @Test
    void aDeliveredMessageGivesItsSlotBackBeforeItsRemovalIsDurable() throws Exception {
        // one slot: the next delivery may start while the last delivered message still waits for the spool's
        // removal round (which rests between rounds); before, the slot was held until that round was done
        List<Integer> inActive = new CopyOnWriteArrayList<>();
        try (Spool spool = Spool.open(dir)) {
            DeliveryEngine engine = new DeliveryEngine() {
                @Override
                public CompletableFuture<DeliveryReport> deliver(Envelope envelope, Body body) {
                    try {
                        inActive.add(spool.list(QueueState.ACTIVE).size());
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                    return CompletableFuture.completedFuture(DeliveryReport.all("test", envelope.recipients(),
                            new Outcome.Delivered("250 ok")));
                }

                @Override
                public void close() {}
            };
            try (QueueManager q = queue(spool, engine, Duration.ofMinutes(1), 1, QueueListener.NONE)) {
                q.start();
                for (int i = 0; i < 5; i++) {
                    q.submit(MailAddress.of("a@x.org"), List.of(MailAddress.of("b@y.org")), "demo", body());
                }
                await().atMost(Duration.ofSeconds(10)).until(() -> q.queued() == 0);
                assertThat(inActive).hasSize(5);
                assertThat(inActive).as("a delivery started beside a delivered message not yet removed")
                        .anyMatch(n -> n >= 2);
                assertThat(spool.list(QueueState.ACTIVE)).isEmpty();
            }
        }
    }

    @Test
    void aStopWaitsForTheRemovalsOfDeliveredMessages() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(r -> new Outcome.Delivered("250 2.0.0 ok"));
        try (Spool spool = Spool.open(dir);
             QueueManager q = queue(spool, engine, Duration.ofMinutes(1), 4, QueueListener.NONE)) {
            q.start();
            q.submit(MailAddress.of("a@x.org"), List.of(MailAddress.of("b@y.org")), "demo", body());
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(1))
                    .until(() -> q.queued() == 0); // the spool's remover now rests (50 ms) before its next round
            QueueId id = q.submit(MailAddress.of("a@x.org"), List.of(MailAddress.of("b@y.org")), "demo", body());
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(1))
                    .until(() -> engine.seen.size() == 2);
            q.stop(Duration.ofSeconds(5));
            assertThat(spool.list(QueueState.ACTIVE)).as("removed, not left to be delivered again").isEmpty();
            assertThat(spool.bodyPath(id)).doesNotExist();
        }
    }

    /**
     * The spool fails once while the outcome of the first attempt is recorded (its tmp/ replaced by a file, so the
     * deferred envelope cannot be written): the message must not stay owned by "active" until a restart. It is
     * released, taken up again from where the spool has it, and delivered; the queue then owns nothing.
     */
    @Test
    void anOutcomeThatCannotBeRecordedIsRetriedFromWhatTheSpoolHolds() throws Exception {
        Path tmp = dir.resolve("tmp");
        List<Envelope> seen = new CopyOnWriteArrayList<>();
        DeliveryEngine engine = new DeliveryEngine() {
            @Override
            public CompletableFuture<DeliveryReport> deliver(Envelope envelope, Body body) {
                seen.add(envelope);
                try {
                    if (seen.size() == 1) { // the update that records this outcome fails
                        Files.delete(tmp);
                        Files.writeString(tmp, "not a directory");
                        return CompletableFuture.completedFuture(DeliveryReport.all("test", envelope.recipients(),
                                new Outcome.TransientFailure("451 4.3.0 later")));
                    }
                    Files.deleteIfExists(tmp); // the spool is healthy again
                    Files.createDirectory(tmp);
                } catch (java.io.IOException e) {
                    throw new AssertionError(e);
                }
                return CompletableFuture.completedFuture(DeliveryReport.all("test", envelope.recipients(),
                        new Outcome.Delivered("250 ok")));
            }

            @Override
            public void close() {}
        };
        deliveredOnTheSecondTryWithoutARestart(engine, seen);
    }

    /** A delivery that cannot even start (here the engine throws) is taken up again, not left until a restart. */
    @Test
    void aDeliveryThatCannotStartIsRetriedFromWhatTheSpoolHoldsWithoutARestart() throws Exception {
        List<Envelope> seen = new CopyOnWriteArrayList<>();
        DeliveryEngine engine = new DeliveryEngine() {
            @Override
            public CompletableFuture<DeliveryReport> deliver(Envelope envelope, Body body) {
                seen.add(envelope);
                if (seen.size() == 1) {
                    throw new IllegalStateException("engine closed under us");
                }
                return CompletableFuture.completedFuture(DeliveryReport.all("test", envelope.recipients(),
                        new Outcome.Delivered("250 ok")));
            }

            @Override
            public void close() {}
        };
        deliveredOnTheSecondTryWithoutARestart(engine, seen);
    }

    /** One message through {@code engine}, whose first try fails: the second is made without a restart. */
    private void deliveredOnTheSecondTryWithoutARestart(DeliveryEngine engine, List<Envelope> seen)
            throws Exception {
        try (Spool spool = Spool.open(dir);
             QueueManager q = queue(spool, engine, Duration.ofMinutes(10), 4, QueueListener.NONE)) {
            q.outcomeRetryDelay(Duration.ofMillis(200));
            q.start();
            QueueId id = q.submit(MailAddress.of("a@x.org"), List.of(MailAddress.of("b@y.org")), "demo", body());
            await().atMost(Duration.ofSeconds(20)).until(() -> seen.size() == 2);
            assertThat(seen).extracting(Envelope::id).containsExactly(id, id);
            await().atMost(Duration.ofSeconds(10)).until(() -> q.queued() == 0);
            assertThat(spool.stateOf(id)).isEmpty();
        }
    }

    /** The same failure, then an operator holds the message: the action is taken, not refused as "active". */
    @Test
    void aMessageWhoseOutcomeCouldNotBeRecordedCanBeHeldByTheOperator() throws Exception {
        Path tmp = dir.resolve("tmp");
        List<Envelope> seen = new CopyOnWriteArrayList<>();
        DeliveryEngine engine = new DeliveryEngine() {
            @Override
            public CompletableFuture<DeliveryReport> deliver(Envelope envelope, Body body) {
                seen.add(envelope);
                try {
                    Files.delete(tmp);
                    Files.writeString(tmp, "not a directory");
                } catch (java.io.IOException e) {
                    throw new AssertionError(e);
                }
                return CompletableFuture.completedFuture(DeliveryReport.all("test", envelope.recipients(),
                        new Outcome.TransientFailure("451 4.3.0 later")));
            }

            @Override
            public void close() {}
        };
        try (Spool spool = Spool.open(dir);
             QueueManager q = queue(spool, engine, Duration.ofMinutes(10), 4, QueueListener.NONE)) {
            q.outcomeRetryDelay(Duration.ofSeconds(60)); // not taken up again during the test: only released
            q.start();
            QueueId id = q.submit(MailAddress.of("a@x.org"), List.of(MailAddress.of("b@y.org")), "demo", body());
            await().atMost(Duration.ofSeconds(10)).until(() -> seen.size() == 1);
            Files.delete(tmp);
            Files.createDirectory(tmp);
            await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> {
                q.admin().hold(id);
                return true;
            });
            assertThat(spool.stateOf(id)).contains(QueueState.HOLD);
            assertThat(q.queued()).isZero();
        }
    }

    @Test
    void deliveredMessageIsRemovedFromTheSpool() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(r -> new Outcome.Delivered("250 2.0.0 ok"));
        try (Spool spool = Spool.open(dir);
             QueueManager q = queue(spool, engine, Duration.ofMinutes(1), 4, QueueListener.NONE)) {
            q.start();
            QueueId id = q.submit(MailAddress.of("a@x.org"), List.of(MailAddress.of("b@y.org")), "demo", body());
            await().atMost(Duration.ofSeconds(5)).until(() -> q.queued() == 0);
            assertThat(engine.seen).extracting(Envelope::id).containsExactly(id);
            assertThat(engine.bodies).containsExactly("Subject: t\r\n\r\nhello\r\n");
            assertThat(spool.list(QueueState.ACTIVE)).isEmpty();
            assertThat(spool.bodyPath(id)).doesNotExist();
        }
    }

    @Test
    void onlyTransientlyFailedRecipientsAreRetriedAfterTheDelay() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(r -> r.value().startsWith("later")
                ? new Outcome.TransientFailure("451 4.3.0 busy") : new Outcome.Delivered("250 ok"));
        try (Spool spool = Spool.open(dir);
             QueueManager q = queue(spool, engine, Duration.ofMinutes(1), 4, QueueListener.NONE)) {
            q.start();
            q.submit(MailAddress.of("a@x.org"), List.of(MailAddress.of("now@y.org"), MailAddress.of("later@y.org")),
                    "demo", body());
            await().atMost(Duration.ofSeconds(5)).until(() -> engine.seen.size() == 1);
            await().atMost(Duration.ofSeconds(5)).until(() -> spool.list(QueueState.DEFERRED).size() == 1);
            // the rule changes before the delay passes: with a real 300 ms delay, a slow machine had retried (and
            // deferred again) before the test got here
            engine.rule = r -> new Outcome.Delivered("250 ok");
            clock.advance(Duration.ofMinutes(1));
            q.wake();
            await().atMost(Duration.ofSeconds(5)).until(() -> q.queued() == 0);
            assertThat(engine.seen).hasSize(2);
            assertThat(engine.seen.get(1).recipients()).containsExactly(MailAddress.of("later@y.org"));
            assertThat(engine.seen.get(1).attempts()).isEqualTo(1);
        }
    }

    @Test
    void permanentlyFailedMessageIsKeptInFailed() throws Exception {
        ScriptedEngine engine = new ScriptedEngine(r -> new Outcome.PermanentFailure("550 5.1.1 unknown"));
        try (Spool spool = Spool.open(dir);
             QueueManager q = queue(spool, engine, Duration.ofMinutes(1), 4, QueueListener.NONE)) {
            q.start();
            QueueId id = q.submit(MailAddress.of("a@x.org"), List.of(MailAddress.of("b@y.org")), "demo", body());
            await().atMost(Duration.ofSeconds(5)).until(() -> q.queued() == 0);
            assertThat(spool.list(QueueState.FAILED)).containsExactly(id);
            assertThat(spool.load(QueueState.FAILED, id).orElseThrow().envelope().lastError())
                    .isEqualTo("550 5.1.1 unknown");
        }
    }

    @Test
    void messagesLeftInTheSpoolAreDeliveredAfterRestart() throws Exception {
        ScriptedEngine down = new ScriptedEngine(r -> new Outcome.TransientFailure("connection refused"));
        QueueId id;
        try (Spool spool = Spool.open(dir);
             QueueManager q = queue(spool, down, Duration.ofHours(1), 4, QueueListener.NONE)) {
            q.start();
            id = q.submit(MailAddress.of("a@x.org"), List.of(MailAddress.of("b@y.org")), "demo", body());
            await().atMost(Duration.ofSeconds(5)).until(() -> spool.list(QueueState.DEFERRED).size() == 1);
        }
        ScriptedEngine up = new ScriptedEngine(r -> new Outcome.Delivered("250 ok"));
        clock.advance(Duration.ofHours(2)); // the deferred message was due in an hour: it is due now
        try (Spool spool = Spool.open(dir);
             QueueManager q = queue(spool, up, Duration.ofHours(1), 4, QueueListener.NONE)) {
            q.start();
            await().atMost(Duration.ofSeconds(5)).until(() -> q.queued() == 0);
            assertThat(up.seen).extracting(Envelope::id).containsExactly(id);
        }
    }

    /** A message's content, as the engine reads it. */
    /** Stops {@code q} and closes {@code spool}, either of which may not have been opened (an after-each). */
    static void stopBoth(QueueManager q, Spool spool) {
        if (q != null) {
            q.stop(Duration.ofSeconds(2));
        }
        if (spool != null) {
            spool.close();
        }
    }

    static String read(Body body) throws java.io.IOException {
        try (java.io.InputStream in = body.open()) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }
}
