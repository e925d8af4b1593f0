package dev.relay.core.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.core.delivery.DeliveryEngine;
import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.handoff.Handoff;
import dev.relay.core.handoff.QueuedMessages;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.Body;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.Spool;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hand-off by hand on a running queue ({@link HandoffClaims} through {@link QueuedMessages}): it takes the
 * incoming and deferred messages through the scheduler, never one being delivered; what the peer took leaves the
 * queue, what it refused goes back scheduled as before, and the queue goes on delivering.
 */
class HandoffClaimsTest {
    private static final MailAddress SENDER = MailAddress.of("app@example.com");

    @TempDir
    Path dir;

    final FakeClock clock = new FakeClock(Instant.parse("2026-11-01T00:00:00Z"));
    Spool spool;
    QueueManager q;

    /** The relay's own upstream: answers each recipient by {@code rule}; "busy" recipients never get an answer. */
    static final class Upstream implements DeliveryEngine {
        final List<QueueId> seen = new CopyOnWriteArrayList<>();
        volatile Function<MailAddress, Outcome> rule = r -> new Outcome.TransientFailure("451 4.3.0 down");

        @Override
        public CompletableFuture<DeliveryReport> deliver(Envelope envelope, Body body) {
            seen.add(envelope.id());
            if (envelope.recipients().get(0).value().startsWith("busy")) {
                return new CompletableFuture<>();
            }
            Map<MailAddress, Outcome> map = new LinkedHashMap<>();
            envelope.recipients().forEach(r -> map.put(r, rule.apply(r)));
            return CompletableFuture.completedFuture(new DeliveryReport("upstream", map));
        }

        @Override
        public void close() {
        }
    }

    /** Starts the queue over {@code upstream}; {@link #stop} ends it. */
    private void start(Upstream upstream) throws Exception {
        spool = Spool.open(dir);
        RetryPolicy retry = new RetryPolicy(Duration.ofMinutes(1), Duration.ofHours(1), Duration.ofDays(5), () -> 0.0);
        q = new QueueManager(spool, upstream, clock, retry, 4, new QueueListener() { },
                QueueManager.Bounces.logOnly(), QueueManager.DEFAULT_FAILED_RETENTION);
        q.start();
    }

    @AfterEach
    void stop() {
        Optional.ofNullable(q).ifPresent(m -> m.stop(Duration.ofSeconds(2)));
        Optional.ofNullable(spool).ifPresent(Spool::close);
    }

    /** The peer relay: answers each recipient by {@code rule}, keeping what it was sent. */
    private static QueueManagerTest.ScriptedEngine peer(Function<MailAddress, Outcome> rule) {
        return new QueueManagerTest.ScriptedEngine(rule);
    }

    private static List<QueueId> sent(QueueManagerTest.ScriptedEngine peer) {
        return peer.seen.stream().map(Envelope::id).toList();
    }

    private QueueId submit(String recipient) throws Exception {
        return q.submit(SENDER, List.of(MailAddress.of(recipient)), "app",
                new ByteArrayInputStream("Subject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.US_ASCII)));
    }

    private List<QueueId> in(QueueState state) throws Exception {
        return spool.list(state);
    }

    private Handoff.Summary handOff(QueueManagerTest.ScriptedEngine peer) throws Exception {
        return new Handoff(spool, new QueuedMessages(spool, q.handoffClaims()), peer, "smtp://peer", "relay-a", 3,
                Handoff.Listener.NONE).run(Duration.ofSeconds(30));
    }

    @Test
    void deferredMessagesGoToThePeerAndLeaveTheQueueWhichGoesOnDelivering() throws Exception {
        Upstream upstream = new Upstream();
        start(upstream);
        List<QueueId> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ids.add(submit("user" + i + "@example.org"));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> in(QueueState.DEFERRED).size() == 5);
        QueueManagerTest.ScriptedEngine peer = peer(r -> new Outcome.Delivered("250 2.0.0 Ok: queued as P"));

        Handoff.Summary s = handOff(peer);

        assertThat(s.handedOff()).isEqualTo(5);
        assertThat(s.kept()).isZero();
        assertThat(sent(peer)).containsExactlyInAnyOrderElementsOf(ids);
        await().atMost(Duration.ofSeconds(10)).until(() -> in(QueueState.DEFERRED).isEmpty()
                && in(QueueState.ACTIVE).isEmpty() && q.queued() == 0);
        // the queue goes on: new mail is delivered by the relay's own upstream, not handed off
        upstream.rule = r -> new Outcome.Delivered("250 ok");
        QueueId fresh = submit("new@example.org");
        await().atMost(Duration.ofSeconds(10)).until(() -> upstream.seen.contains(fresh) && q.queued() == 0);
        assertThat(sent(peer)).doesNotContain(fresh);
    }

    @Test
    void refusedMessagesGoBackDeferredAndOperatorActionsApplyAgain() throws Exception {
        start(new Upstream());
        List<QueueId> ids = List.of(submit("a@example.org"), submit("b@example.org"));
        await().atMost(Duration.ofSeconds(10)).until(() -> in(QueueState.DEFERRED).size() == 2);
        Instant due = spool.peek(QueueState.DEFERRED, ids.get(0)).orElseThrow().envelope().nextAttempt();

        Handoff.Summary s = handOff(peer(r -> new Outcome.PermanentFailure("554 5.4.6 loop")));

        assertThat(s.refused()).isEqualTo(2);
        assertThat(in(QueueState.DEFERRED)).containsExactlyInAnyOrderElementsOf(ids);
        assertThat(in(QueueState.ACTIVE)).isEmpty();
        assertThat(q.queued()).isEqualTo(2);
        assertThat(spool.peek(QueueState.DEFERRED, ids.get(0)).orElseThrow().envelope().nextAttempt()).isEqualTo(due);
        // owned by the scheduler as deferred again: an operator can hold it (not "being delivered")
        assertThat(q.admin().hold(ids.get(0))).isEqualTo(QueueState.DEFERRED);
    }

    @Test
    void aMessageBeingDeliveredIsNotTakenAndMailArrivingLaterIsNotHandedOff() throws Exception {
        Upstream upstream = new Upstream();
        start(upstream);
        QueueId busy = submit("busy@example.org"); // its delivery never ends: it stays active
        QueueId deferred = submit("d@example.org");
        await().atMost(Duration.ofSeconds(10)).until(() -> in(QueueState.ACTIVE).contains(busy)
                && in(QueueState.DEFERRED).contains(deferred));
        QueueManagerTest.ScriptedEngine peer = peer(r -> new Outcome.Delivered("250 ok"));

        Handoff.Summary s = handOff(peer);

        assertThat(sent(peer)).containsExactly(deferred);
        assertThat(s.handedOff()).isEqualTo(1);
        assertThat(in(QueueState.ACTIVE)).containsExactly(busy);
        assertThat(q.queued()).isEqualTo(1);
    }

    @Test
    void mailReceivedWhileTheHandOffRunsIsNotHandedOffButStaysInTheQueuesCare() throws Exception {
        start(new Upstream());
        QueueId queued = submit("q@example.org");
        await().atMost(Duration.ofSeconds(10)).until(() -> in(QueueState.DEFERRED).contains(queued));
        List<QueueId> arrived = new CopyOnWriteArrayList<>();
        QueueManagerTest.ScriptedEngine peer = peer(r -> {
            try { // a client submits while the peer takes the first message
                arrived.add(submit("new@example.org"));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            return new Outcome.Delivered("250 ok");
        });

        Handoff.Summary s = handOff(peer);

        assertThat(s.handedOff()).isEqualTo(1);
        assertThat(sent(peer)).containsExactly(queued);
        assertThat(arrived).hasSize(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> in(QueueState.DEFERRED).equals(arrived));
        assertThat(q.queued()).isEqualTo(1);
    }
}
