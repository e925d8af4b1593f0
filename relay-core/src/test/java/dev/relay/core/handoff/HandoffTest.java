package dev.relay.core.handoff;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HandoffTest {
    private static final Instant RECEIVED = Instant.parse("2026-12-04T10:00:00Z");
    private static final MailAddress A = MailAddress.of("a@example.com");
    private static final MailAddress B = MailAddress.of("b@example.com");

    @TempDir
    java.nio.file.Path dir;
    private Spool spool;
    private final List<Handoff.Result> results = new ArrayList<>();

    /** A peer that answers each recipient with {@code reply} (null: never answers), keeping what it was sent. */
    private final class Peer implements DeliveryEngine {
        final List<String> contents = new ArrayList<>();
        final List<Envelope> envelopes = new ArrayList<>();
        final Function<MailAddress, Outcome> reply;

        Peer(Function<MailAddress, Outcome> reply) {
            this.reply = reply;
        }

        @Override
        public synchronized CompletableFuture<DeliveryReport> deliver(Envelope envelope, Body body) {
            try (InputStream in = body.open()) {
                contents.add(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new AssertionError(e);
            }
            envelopes.add(envelope);
            Map<MailAddress, Outcome> outcomes = new LinkedHashMap<>();
            for (MailAddress r : envelope.recipients()) {
                Outcome o = reply.apply(r);
                if (o == null) {
                    return new CompletableFuture<>(); // never answers
                }
                outcomes.put(r, o);
            }
            return CompletableFuture.completedFuture(new DeliveryReport("peer", outcomes));
        }

        @Override
        public void close() {
        }
    }

    @AfterEach
    void close() {
        if (spool != null) {
            spool.close();
        }
    }

    private QueueId store(String content, MailAddress... recipients) throws Exception {
        if (spool == null) {
            spool = Spool.open(dir);
        }
        QueueId id = QueueId.next(Instant.now());
        spool.store(new Envelope(id, MailAddress.of("sender@example.com"), List.of(recipients), RECEIVED, "app", 2,
                RECEIVED, "", true), new ByteArrayInputStream(content.getBytes(StandardCharsets.UTF_8)));
        return id;
    }

    private final List<String> recorded = new ArrayList<>();

    private Handoff.Summary run(Peer peer, Duration timeout) throws Exception {
        return new Handoff(spool, peer, "smtps://peer:2465", "relay-0", 3, (id, r) -> results.add(r))
                .recording(new dev.relay.core.queue.QueueListener() {
                    @Override
                    public void reported(Envelope envelope, DeliveryReport report) {
                        recorded.add(envelope.id().value() + " reported " + report.byRecipient().values());
                    }

                    @Override
                    public void delivered(Envelope envelope, List<MailAddress> recipients, String upstream, long size,
                                          Duration delay) {
                        recorded.add(envelope.id().value() + " delivered " + recipients + " via " + upstream);
                    }
                }).run(timeout);
    }

    @Test
    void everyMessageGoesWithItsEnvelopeAndATraceHeaderAndIsRemovedAfterThe250() throws Exception {
        QueueId first = store("Subject: one\r\n\r\nbody\r\n", A, B);
        QueueId second = store("Subject: two\r\n\r\nbody\r\n", A);
        Peer peer = new Peer(r -> new Outcome.Delivered("250 2.0.0 Ok: queued as X"));

        Handoff.Summary s = run(peer, Duration.ofSeconds(10));

        assertThat(s.handedOff()).isEqualTo(2);
        assertThat(s.kept()).isZero();
        assertThat(results).containsExactly(Handoff.Result.HANDED_OFF, Handoff.Result.HANDED_OFF);
        assertThat(spool.list(QueueState.INCOMING)).isEmpty();
        assertThat(peer.envelopes.get(0).recipients()).containsExactly(A, B);
        assertThat(peer.envelopes.get(0).sender().value()).isEqualTo("sender@example.com");
        assertThat(peer.envelopes.get(0).smtputf8()).isTrue();
        assertThat(peer.contents.get(0)).isEqualTo("X-Relay-Handoff: id=" + first.value()
                + "; received=2026-12-04T10:00:00Z; from=relay-0; hop=1\r\nSubject: one\r\n\r\nbody\r\n");
        assertThat(peer.contents.get(1)).startsWith("X-Relay-Handoff: id=" + second.value());
        assertThat(dir.resolve("tmp")).isEmptyDirectory();
        assertThat(recorded).contains(first.value() + " delivered [a@example.com, b@example.com] via handoff");
    }

    @Test
    void aRefusedMessageStaysAsItWasAndATakenRecipientIsNotKept() throws Exception {
        QueueId refused = store("Subject: r\r\n\r\nx\r\n", A);
        QueueId partly = store("Subject: p\r\n\r\nx\r\n", A, B);
        Peer peer = new Peer(r -> r.equals(B) ? new Outcome.Delivered("250 ok")
                : new Outcome.PermanentFailure("554 5.4.6 too many hand-offs"));

        Handoff.Summary s = run(peer, Duration.ofSeconds(10));

        assertThat(s.refused()).isEqualTo(2);
        assertThat(s.handedOff()).isZero();
        assertThat(spool.list(QueueState.INCOMING)).containsExactly(refused, partly);
        assertThat(spool.load(QueueState.INCOMING, refused).orElseThrow().envelope().recipients()).containsExactly(A);
        Envelope kept = spool.load(QueueState.INCOMING, partly).orElseThrow().envelope();
        assertThat(kept.recipients()).containsExactly(A);
        assertThat(kept.attempts()).isEqualTo(2);
        assertThat(kept.smtputf8()).isTrue();
        assertThat(recorded).contains(partly.value() + " delivered [b@example.com] via handoff")
                .noneMatch(r -> r.startsWith(refused.value() + " delivered"));
    }

    @Test
    void aPeerThatIsStoppingIsAskedAgainOnANewConnectionAndA5xxIsNot() throws Exception {
        QueueId id = store("Subject: again\r\n\r\nx\r\n", A);
        int[] calls = new int[1];
        Peer draining = new Peer(r -> ++calls[0] < 3 ? new Outcome.TransientFailure("451 4.3.2 stopping")
                : new Outcome.Delivered("250 ok"));
        assertThat(run(draining, Duration.ofSeconds(30)).handedOff()).isEqualTo(1);
        assertThat(calls[0]).isEqualTo(3);
        assertThat(spool.list(QueueState.INCOMING)).doesNotContain(id);
        assertThat(results).containsExactly(Handoff.Result.HANDED_OFF);

        QueueId refused = store("Subject: no\r\n\r\nx\r\n", A);
        Peer permanent = new Peer(r -> new Outcome.PermanentFailure("554 5.4.6 loop"));
        assertThat(run(permanent, Duration.ofSeconds(30)).refused()).isEqualTo(1);
        assertThat(permanent.contents).hasSize(1);
        assertThat(spool.list(QueueState.INCOMING)).containsExactly(refused);
    }

    @Test
    void aMessageAtTheHopLimitIsKeptWithoutBeingSentAndTheNextHopIsCounted() throws Exception {
        QueueId looping = store("X-Relay-Handoff: id=Q1; received=x; from=r1; hop=2\r\n"
                + "X-Relay-Handoff: id=Q0; received=x; from=r0; hop=3\r\nSubject: l\r\n\r\nx\r\n", A);
        store("X-Relay-Handoff: id=Q0; received=x; from=r0; hop=2\r\nSubject: once\r\n\r\nx\r\n", A);
        Peer peer = new Peer(r -> new Outcome.Delivered("250 ok"));

        Handoff.Summary s = run(peer, Duration.ofSeconds(10));

        assertThat(s.hopLimit()).isEqualTo(1);
        assertThat(s.handedOff()).isEqualTo(1);
        assertThat(spool.list(QueueState.INCOMING)).containsExactly(looping);
        assertThat(peer.contents).singleElement().asString().contains("hop=3\r\nX-Relay-Handoff: id=Q0");
    }

    @Test
    void whatThePeerDoesNotConfirmInTimeStays() throws Exception {
        QueueId id = store("Subject: slow\r\n\r\nx\r\n", A);
        Handoff.Summary s = run(new Peer(r -> null), Duration.ofMillis(200));

        assertThat(s.unfinished()).isEqualTo(1);
        assertThat(spool.list(QueueState.INCOMING)).containsExactly(id);
        assertThat(dir.resolve("tmp")).isEmptyDirectory();
    }

    @Test
    void deferredAndLeftActiveMessagesAreHandedOffToo() throws Exception {
        QueueId deferred = store("Subject: d\r\n\r\nx\r\n", A);
        spool.move(deferred, QueueState.INCOMING, QueueState.DEFERRED);
        QueueId active = store("Subject: a\r\n\r\nx\r\n", A);
        spool.move(active, QueueState.INCOMING, QueueState.ACTIVE);
        QueueId held = store("Subject: h\r\n\r\nx\r\n", A);
        spool.move(held, QueueState.INCOMING, QueueState.HOLD);

        Handoff.Summary s = run(new Peer(r -> new Outcome.Delivered("250 ok")), Duration.ofSeconds(10));

        assertThat(s.handedOff()).isEqualTo(2);
        assertThat(spool.list(QueueState.DEFERRED)).isEmpty();
        assertThat(spool.list(QueueState.ACTIVE)).isEmpty();
        assertThat(spool.list(QueueState.HOLD)).containsExactly(held); // an operator's hold is not undone
    }

    @Test
    void theHopCountIsReadFromTheHeaderSectionOnly() throws Exception {
        assertThat(HandoffHeader.hops(new ByteArrayInputStream(("Subject: s\r\n\r\nX-Relay-Handoff: id=Q; hop=9\r\n")
                .getBytes(StandardCharsets.US_ASCII)))).isZero();
        assertThat(HandoffHeader.hopOf("x-relay-handoff: id=Q; hop=2")).isEqualTo(2);
        assertThat(HandoffHeader.hopOf("X-Relay-Handoff: forged")).isEqualTo(1);
        assertThat(HandoffHeader.idOf("X-Relay-Handoff: id=Q7; received=x; from=r; hop=1")).isEqualTo("Q7");
    }
}
