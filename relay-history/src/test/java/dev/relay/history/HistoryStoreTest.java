package dev.relay.history;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/** The history on SQLite and on PostgreSQL (TestPostgres: under CI=true it runs, elsewhere it may skip). */
@ParameterizedClass
@ValueSource(strings = {"sqlite", "postgresql"})
class HistoryStoreTest {
    @TempDir
    Path dir;

    @Parameter
    String backend;

    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-12-01T10:00:00Z"));
    private final InstantSource clock = () -> now.get();
    private HistoryRecorder recorder;

    @AfterEach
    void close() {
        if (recorder != null) {
            recorder.close();
        }
    }

    private HistoryRecorder recorder(boolean mask, int capacity, long maxSize) throws Exception {
        HistoryStore store = HistoryBackends.open(backend, dir, mask);
        recorder = new HistoryRecorder(store, clock, Duration.ofDays(30), maxSize, capacity, true,
                name -> name.equals("sink") ? "127.0.0.1" : null);
        return recorder;
    }

    private Envelope envelope(String sender, String... rcpts) {
        QueueId id = QueueId.next(now.get());
        return Envelope.received(id, new MailAddress(sender), java.util.Arrays.stream(rcpts).map(MailAddress::new)
                .toList(), now.get(), "app");
    }

    /** One message received, attempted once with {@code outcomes}, as the queue reports it. */
    private Envelope deliver(HistoryRecorder r, Envelope e, String messageId, Map<String, Outcome> outcomes) {
        r.received(e, 1234);
        r.received(e.id(), new Receipt("submission", "192.0.2.7", "app", "TLSv1.3", "TLS_AES_128_GCM_SHA256",
                messageId, "Hello"));
        r.attempted(e, 1);
        now.set(now.get().plusMillis(40));
        Map<MailAddress, Outcome> map = new LinkedHashMap<>();
        outcomes.forEach((k, v) -> map.put(new MailAddress(k), v));
        DeliveryReport report = new DeliveryReport("sink", map);
        r.reported(e, report);
        List<MailAddress> ok = report.recipientsWith(Outcome.Delivered.class);
        List<MailAddress> later = report.recipientsWith(Outcome.TransientFailure.class);
        List<MailAddress> no = report.recipientsWith(Outcome.PermanentFailure.class);
        if (!ok.isEmpty()) {
            r.delivered(e, ok, "sink", 1234, Duration.ofMillis(40));
        }
        if (!no.isEmpty()) {
            r.failed(e, no, "550 5.1.1 unknown");
        }
        if (!later.isEmpty()) {
            r.deferred(e, later, "451 4.3.0 try later", now.get().plusSeconds(60));
        }
        return e;
    }

    @Test
    void migratesTheSchemaWithFlywayInWalMode() throws Exception {
        HistoryRecorder r = recorder(false, 1000, 1L << 30);
        assertThat(r.store().schemaVersion()).isEqualTo("2");
        assertThat(r.store().shared()).isEqualTo(backend.equals("postgresql"));
        if (!backend.equals("sqlite")) {
            return; // the rest is SQLite's file
        }
        try (var c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("history.db"));
             ResultSet rs = c.createStatement().executeQuery("PRAGMA journal_mode")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualToIgnoringCase("wal");
        }
        assertThat(java.nio.file.Files.getPosixFilePermissions(dir.resolve("history.db")))
                .containsExactlyInAnyOrder(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                        java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
        r.close();
        recorder = null;
        // opened again: nothing to migrate, the data stays
        HistoryStore again = HistoryStore.open(dir.resolve("history.db"), false);
        assertThat(again.schemaVersion()).isEqualTo("2");
        again.close();
    }

    @Test
    void recordsTheTimelineOfADeliveredMessageWithTheUpstreamsId() throws Exception {
        HistoryRecorder r = recorder(false, 1000, 1L << 30).start();
        Envelope e = deliver(r, envelope("app@example.com", "jane@example.net"), "<m1@example.com>",
                Map.of("jane@example.net", new Outcome.Delivered("250 2.0.0 Ok: queued as 4F1B2C3D4E")));
        assertThat(r.flush(Duration.ofSeconds(10))).isTrue();

        List<HistoryStore.Trace> traces = r.store().trace("m1@example.com");
        assertThat(traces).hasSize(1);
        HistoryStore.Trace t = traces.get(0);
        assertThat(t.message().queueId()).isEqualTo(e.id().value());
        assertThat(t.message().status()).isEqualTo("delivered");
        assertThat(t.message().listener()).isEqualTo("submission");
        assertThat(t.message().client()).isEqualTo("192.0.2.7");
        assertThat(t.message().tlsProtocol()).isEqualTo("TLSv1.3");
        assertThat(t.message().subject()).isEqualTo("Hello");
        assertThat(t.message().upstreamId()).isEqualTo("4F1B2C3D4E");
        // the replica's name with the message and each event: the shared history's (a relay on its own: none)
        String replica = backend.equals("sqlite") ? null : "relay-a";
        assertThat(t.message().replica()).isEqualTo(replica);
        assertThat(t.events()).extracting(HistoryStore.Event::replica).containsOnly(replica);
        assertThat(t.events()).extracting(HistoryStore.Event::kind).containsExactly("received", "attempt",
                "delivered");
        HistoryStore.Event attempt = t.events().get(1);
        assertThat(attempt.code()).isEqualTo(250);
        assertThat(attempt.enhanced()).isEqualTo("2.0.0");
        assertThat(attempt.text()).isEqualTo("Ok: queued as 4F1B2C3D4E");
        assertThat(attempt.host()).isEqualTo("127.0.0.1");
        assertThat(attempt.durationMillis()).isEqualTo(40);
        // the same message by its queue id and by the upstream's id
        assertThat(r.store().trace(e.id().value())).hasSize(1);
        assertThat(r.store().trace("4F1B2C3D4E")).hasSize(1);
        assertThat(r.store().trace("nothing")).isEmpty();
    }

    @Test
    void aHandedOffMessageIsFoundByItsIdOnTheReplicaThatHandedItOff() throws Exception {
        HistoryRecorder r = recorder(false, 1000, 1L << 30).start();
        Envelope e = envelope("app@example.com", "jane@example.net");
        r.received(e, 100);
        r.handedOff(e.id(), "Q0RIGINAL1", "X-Relay-Handoff: id=Q0RIGINAL1; received=2026-12-01T09:00:00Z; "
                + "from=relay-0; hop=1");
        assertThat(r.flush(Duration.ofSeconds(10))).isTrue();

        List<HistoryStore.Trace> traces = r.store().trace("Q0RIGINAL1");
        assertThat(traces).singleElement().satisfies(t -> {
            assertThat(t.message().queueId()).isEqualTo(e.id().value());
            assertThat(t.events()).extracting(HistoryStore.Event::kind).containsExactly("received", "handoff");
            assertThat(t.events().get(1).upstreamId()).isEqualTo("Q0RIGINAL1");
            assertThat(t.events().get(1).detail()).contains("from=relay-0", "hop=1");
        });
    }

    @Test
    void recordsDeferralsFailuresBouncesAndOperatorActions() throws Exception {
        HistoryRecorder r = recorder(false, 1000, 1L << 30).start();
        Envelope e = deliver(r, envelope("app@example.com", "a@x.test", "b@x.test"), "<m2@x>",
                Map.of("a@x.test", new Outcome.TransientFailure("451 4.3.0 try later"),
                        "b@x.test", new Outcome.PermanentFailure("550 5.1.1 unknown")));
        QueueId dsn = QueueId.next(now.get());
        r.bounced(e, List.of(new MailAddress("b@x.test")), true, dsn);
        r.action(e.id().value(), "hold", "token");
        assertThat(r.flush(Duration.ofSeconds(10))).isTrue();

        HistoryStore.Trace t = r.store().trace(e.id().value()).get(0);
        assertThat(t.message().status()).isEqualTo("held");
        assertThat(t.message().dsnId()).isEqualTo(dsn.value());
        assertThat(t.events()).extracting(HistoryStore.Event::kind).containsExactly("received", "attempt", "attempt",
                "failed", "deferred", "bounced", "hold");
        assertThat(t.events().get(4).next()).isEqualTo(now.get().plusSeconds(60));
        // the DSN is a message of its own, from <> to the original sender
        HistoryStore.Trace bounce = r.store().trace(dsn.value()).get(0);
        assertThat(bounce.message().sender()).isEmpty();
        assertThat(bounce.message().recipients()).containsExactly("app@example.com");

        r.action(e.id().value(), "release", "-");
        r.deferred(e, List.of(new MailAddress("a@x.test")), "451", now.get());
        assertThat(r.flush(Duration.ofSeconds(10))).isTrue();
        assertThat(r.store().search(new HistoryStore.Query(null, null, null, null, null, null, "deferred"), null, 10)
                .messages()).extracting(HistoryStore.MessageSummary::queueId).containsExactly(e.id().value());
    }

    @Test
    void recordsADelayWarningAsAnEventThatLeavesTheStatusAndTheWarningAsAMessageOfItsOwn() throws Exception {
        HistoryRecorder r = recorder(false, 1000, 1L << 30).start();
        Envelope e = deliver(r, envelope("app@example.com", "a@x.test"), "<m3@x>",
                Map.of("a@x.test", new Outcome.TransientFailure("451 4.3.0 try later")));
        QueueId warning = QueueId.next(now.get());
        r.delayWarned(e, List.of(new MailAddress("a@x.test")), warning);
        assertThat(r.flush(Duration.ofSeconds(10))).isTrue();

        HistoryStore.Trace t = r.store().trace(e.id().value()).get(0);
        assertThat(t.message().status()).as("still being retried").isEqualTo("deferred");
        assertThat(t.message().dsnId()).as("no bounce").isNull();
        assertThat(t.events()).extracting(HistoryStore.Event::kind).containsExactly("received", "attempt",
                "deferred", "delayed");
        assertThat(t.events().get(3).detail()).isEqualTo("dsn " + warning.value() + " delayed=<a@x.test>");
        HistoryStore.Trace own = r.store().trace(warning.value()).get(0);
        assertThat(own.message().sender()).isEmpty();
        assertThat(own.message().recipients()).containsExactly("app@example.com");
    }

    @Test
    void searchFiltersAndPagesNewestFirst() throws Exception {
        HistoryRecorder r = recorder(false, 1000, 1L << 30).start();
        for (int i = 0; i < 5; i++) {
            deliver(r, envelope("app" + i + "@example.com", "user" + i + "@dest.test"), "<p" + i + "@x>",
                    Map.of("user" + i + "@dest.test", i == 4 ? new Outcome.PermanentFailure("550 no")
                            : new Outcome.Delivered("250 Ok 0100018c-ses-id-" + i)));
            now.set(now.get().plusSeconds(60));
        }
        assertThat(r.flush(Duration.ofSeconds(10))).isTrue();
        HistoryStore s = r.store();
        HistoryStore.Page first = s.search(HistoryStore.Query.all(), null, 2);
        assertThat(first.messages()).extracting(HistoryStore.MessageSummary::sender)
                .containsExactly("app4@example.com", "app3@example.com");
        HistoryStore.Page second = s.search(HistoryStore.Query.all(), first.next(), 2);
        assertThat(second.messages()).extracting(HistoryStore.MessageSummary::sender)
                .containsExactly("app2@example.com", "app1@example.com");
        HistoryStore.Page third = s.search(HistoryStore.Query.all(), second.next(), 2);
        assertThat(third.messages()).hasSize(1);
        assertThat(third.next()).isNull();

        assertThat(s.search(new HistoryStore.Query(null, null, "app1@example.com", null, null, null, null), null, 10)
                .messages()).hasSize(1);
        assertThat(s.search(new HistoryStore.Query(null, null, null, "user2@dest.test", null, null, null), null, 10)
                .messages()).extracting(HistoryStore.MessageSummary::sender).containsExactly("app2@example.com");
        assertThat(s.search(new HistoryStore.Query(null, null, null, "dest.test", null, null, null), null, 10)
                .messages()).hasSize(5);
        assertThat(s.search(new HistoryStore.Query(null, null, null, null, "p3@x", null, null), null, 10)
                .messages()).extracting(HistoryStore.MessageSummary::sender).containsExactly("app3@example.com");
        assertThat(s.search(new HistoryStore.Query(null, null, null, null, null, "sink", null), null, 10)
                .messages()).hasSize(5);
        assertThat(s.search(new HistoryStore.Query(null, null, null, null, null, "other", null), null, 10)
                .messages()).isEmpty();
        assertThat(s.search(new HistoryStore.Query(null, null, null, null, null, null, "failed"), null, 10)
                .messages()).extracting(HistoryStore.MessageSummary::sender).containsExactly("app4@example.com");
        assertThat(s.search(new HistoryStore.Query(now.get().minusSeconds(150), null, null, null, null, null, null),
                null, 10).messages()).hasSize(2);
        assertThat(s.trace("0100018c-ses-id-2")).hasSize(1);
        assertThatThrownBy(() -> s.search(new HistoryStore.Query(null, null, null, null, null, null, "lost"), null, 1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void masksAddressesWhenAsked() throws Exception {
        HistoryRecorder r = recorder(true, 1000, 1L << 30).start();
        Envelope e = deliver(r, envelope("jane@example.com", "bob@example.net"), "<m@x>",
                Map.of("bob@example.net", new Outcome.Delivered("250 ok")));
        assertThat(r.flush(Duration.ofSeconds(10))).isTrue();
        HistoryStore.Trace t = r.store().trace(e.id().value()).get(0);
        assertThat(t.message().sender()).isEqualTo("j***@example.com");
        assertThat(t.message().recipients()).containsExactly("b***@example.net");
        assertThat(t.events().get(1).recipient()).isEqualTo("b***@example.net");
        assertThat(t.events().get(2).detail()).isEqualTo("<b***@example.net>");
        // searching by the clear address finds the masked one
        assertThat(r.store().search(new HistoryStore.Query(null, null, "jane@example.com", null, null, null, null),
                null, 10).messages()).hasSize(1);
    }

    @Test
    void aFullBufferDropsRecordsAndCountsThemWithoutBlocking() throws Exception {
        HistoryRecorder r = recorder(false, 100, 1L << 30);
        r.pause(true); // the writer takes nothing
        r.start();
        long t0 = System.nanoTime();
        for (int i = 0; i < 300; i++) {
            r.received(envelope("a@b.c", "d@e.f"), 1);
        }
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
        assertThat(r.dropped()).isEqualTo(200);
        r.pause(false);
        assertThat(r.flush(Duration.ofSeconds(10))).isTrue();
        assertThat(r.written() + r.dropped()).isEqualTo(300);
        assertThat(r.store().count()).isEqualTo(r.written());
    }

    @Test
    void batchesManyRecordsInFewTransactions() throws Exception {
        HistoryRecorder r = recorder(false, 20_000, 1L << 30);
        r.pause(true);
        r.start();
        for (int i = 0; i < 5_000; i++) {
            r.received(envelope("a@b.c", "d@e.f"), 1);
        }
        long t0 = System.nanoTime();
        r.pause(false);
        assertThat(r.flush(Duration.ofSeconds(60))).isTrue();
        assertThat(r.store().count()).isEqualTo(5_000);
        // one WAL transaction per 512 records: far below a transaction per record
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        System.out.printf("history writer: 5000 receipts (3 rows each) in %d ms%n", took.toMillis());
        assertThat(took).isLessThan(Duration.ofSeconds(30));
    }

    @Test
    void retentionAndTheSizeBoundRemoveTheOldest() throws Exception {
        HistoryRecorder r = recorder(false, 20_000, 2L * 1024 * 1024).start();
        Instant start = now.get();
        for (int i = 0; i < 4_000; i++) {
            deliver(r, envelope("sender" + i + "@example.com", "rcpt" + i + "@example.net"), "<id" + i + "@x>",
                    Map.of("rcpt" + i + "@example.net", new Outcome.Delivered("250 2.0.0 Ok: queued as ABCDEF" + i)));
            now.set(now.get().plusSeconds(1));
        }
        assertThat(r.flush(Duration.ofSeconds(60))).isTrue();
        r.pause(true);
        if (backend.equals("sqlite")) {
            assertThat(r.store().usedBytes()).isGreaterThan(2L * 1024 * 1024);
            r.housekeeping();
            assertThat(r.store().usedBytes()).isLessThanOrEqualTo(2L * 1024 * 1024);
            long left = r.store().count();
            assertThat(left).isBetween(1L, 3_999L);
            assertThat(r.store().trace("<id0@x>")).isEmpty();
        } else { // history.max-size does not apply to PostgreSQL: retention alone
            assertThat(r.store().usedBytes()).isEqualTo(-1);
            r.housekeeping();
            assertThat(r.store().count()).isEqualTo(4_000);
            // 30 days after the first 1,000 (one every 1.04 s): those are past history.retention, the rest stay
            now.set(start.plus(Duration.ofDays(30)).plusMillis(1_040_000));
            r.housekeeping();
            assertThat(r.store().count()).isEqualTo(3_000);
            assertThat(r.store().trace("<id999@x>")).isEmpty();
            assertThat(r.store().trace("<id1000@x>")).hasSize(1);
        }
        // the newest stay
        assertThat(r.store().trace("<id3999@x>")).hasSize(1);

        // 31 days on: everything is past history.retention
        now.set(start.plus(Duration.ofDays(31)).plusSeconds(4_000));
        r.housekeeping();
        assertThat(r.store().count()).isZero();
        assertThat(r.removed()).isEqualTo(4_000);
    }
}
