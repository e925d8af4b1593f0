package dev.relay.history;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.testkit.TestPostgres;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/** The history several replicas share in PostgreSQL (TestPostgres: under CI=true it runs, elsewhere it may skip). */
class SharedHistoryTest {
    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-12-01T10:00:00Z"));
    private final InstantSource clock = () -> now.get();
    private final List<HistoryRecorder> recorders = new ArrayList<>();

    @AfterEach
    void close() {
        TestPostgres.shared().restart(); // a test that stopped it and failed
        recorders.forEach(HistoryRecorder::close);
    }

    private HistoryRecorder replica(PGSimpleDataSource db, String name, int capacity) {
        HistoryRecorder r = new HistoryRecorder(HistoryStore.openShared(db, null, false, name), clock,
                Duration.ofDays(30), 1L << 30, capacity, false, n -> null);
        recorders.add(r);
        return r;
    }

    private Envelope received(HistoryRecorder r, String rcpt) {
        Envelope e = Envelope.received(QueueId.next(now.get()), new MailAddress("app@example.com"),
                List.of(new MailAddress(rcpt)), now.get(), "app");
        r.received(e, 100);
        r.delivered(e, e.recipients(), "sink", 100, Duration.ofMillis(5));
        return e;
    }

    @Test
    void eachReplicaSeesTheOthersMessagesWithTheNameOfTheReplicaThatHadThem() throws Exception {
        PGSimpleDataSource db = HistoryBackends.newPostgres();
        HistoryRecorder a = replica(db, "relay-a", 1000).start();
        HistoryRecorder b = replica(db, "relay-b", 1000).start();
        Envelope viaA = received(a, "jane@example.net");
        Envelope viaB = received(b, "joe@example.net");
        assertThat(a.flush(Duration.ofSeconds(20))).isTrue();
        assertThat(b.flush(Duration.ofSeconds(20))).isTrue();

        HistoryStore.Trace t = b.store().trace(viaA.id().value()).getFirst();
        assertThat(t.message().replica()).isEqualTo("relay-a");
        assertThat(t.message().status()).isEqualTo("delivered");
        assertThat(t.events()).extracting(HistoryStore.Event::kind).containsExactly("received", "delivered");
        assertThat(t.events()).extracting(HistoryStore.Event::replica).containsOnly("relay-a");
        assertThat(a.store().search(HistoryStore.Query.all(), null, 10).messages())
                .extracting(HistoryStore.MessageSummary::queueId, HistoryStore.MessageSummary::replica)
                .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple(viaA.id().value(), "relay-a"),
                        org.assertj.core.groups.Tuple.tuple(viaB.id().value(), "relay-b"));
    }

    @Test
    void replicasPruningTogetherRemoveEachOldMessageOnceWithoutAnError() throws Exception {
        PGSimpleDataSource db = HistoryBackends.newPostgres();
        List<HistoryRecorder> all = List.of(replica(db, "relay-a", 20_000), replica(db, "relay-b", 20_000),
                replica(db, "relay-c", 20_000));
        for (HistoryRecorder r : all) {
            r.start();
            for (int i = 0; i < 2_000; i++) {
                received(r, "rcpt" + i + "@example.net");
            }
        }
        for (HistoryRecorder r : all) {
            assertThat(r.flush(Duration.ofSeconds(60))).isTrue();
            r.pause(true);
        }
        assertThat(all.getFirst().store().count()).isEqualTo(6_000);
        now.set(now.get().plus(Duration.ofDays(31)));
        List<CompletableFuture<Void>> runs = new ArrayList<>();
        for (HistoryRecorder r : all) {
            runs.add(CompletableFuture.runAsync(r::housekeeping));
        }
        runs.forEach(CompletableFuture::join);
        // one replica at a time prunes (the others skip the round); whoever ran, each message went once
        long removed = all.stream().mapToLong(HistoryRecorder::removed).sum();
        assertThat(all.getFirst().store().count()).isZero();
        assertThat(removed).isEqualTo(6_000);
        for (HistoryRecorder r : all) {
            r.housekeeping(); // nothing left: the next round removes nothing
        }
        assertThat(all.stream().mapToLong(HistoryRecorder::removed).sum()).isEqualTo(6_000);
    }

    @Test
    void whileTheDatabaseIsDownRecordsWaitInTheBufferOrAreDroppedAndTheWriterRecoversWhenItReturns()
            throws Exception {
        TestPostgres pg = TestPostgres.shared();
        PGSimpleDataSource db = HistoryBackends.newPostgres();
        HistoryRecorder r = replica(db, "relay-a", 100).start();
        received(r, "before@example.net");
        assertThat(r.flush(Duration.ofSeconds(20))).isTrue();

        pg.stop();
        long t0 = System.nanoTime();
        for (int i = 0; i < 400; i++) { // 800 records: the writer's batch holds at most 512, the buffer 100
            received(r, "during" + i + "@example.net");
        }
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2)); // never waits
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(r::unreachable);
        assertThat(r.dropped()).isGreaterThanOrEqualTo(800 - HistoryRecorder.BATCH - 100);
        assertThat(r.failedWrites()).isZero(); // kept and retried, not given up

        pg.restart();
        assertThat(r.flush(Duration.ofSeconds(60))).isTrue();
        assertThat(r.unreachable()).isFalse();
        assertThat(r.failedWrites()).isZero();
        // every record the buffer kept was written: 1 message before, and those not dropped (2 records each)
        assertThat(r.written() + r.dropped()).isEqualTo(802);
        received(r, "after@example.net");
        assertThat(r.flush(Duration.ofSeconds(20))).isTrue();
        assertThat(r.store().search(new HistoryStore.Query(null, null, null, "after@example.net", null, null, null),
                null, 10).messages()).hasSize(1);
    }

    @Test
    void stoppingWhileTheDatabaseIsDownTakesNoLongerThanTheWaitInProgressAndCountsWhatIsLost() throws Exception {
        TestPostgres pg = TestPostgres.shared();
        HistoryRecorder r = replica(HistoryBackends.newPostgres(), "relay-a", 1000).start();
        received(r, "before@example.net");
        assertThat(r.flush(Duration.ofSeconds(20))).isTrue();
        pg.stop();
        for (int i = 0; i < 100; i++) {
            received(r, "during" + i + "@example.net");
        }
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(r::unreachable);
        long t0 = System.nanoTime();
        r.close();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(8));
        assertThat(r.written()).isEqualTo(2);
        assertThat(r.failedWrites() + r.dropped()).isEqualTo(200);
    }
}
