package dev.relay.history;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SQLite's file full (SQLITE_FULL, here from {@code max_page_count}): the batch that failed is lost and counted,
 * and the writes after space is back succeed (SQLite rolls the failed transaction back itself).
 */
class HistoryFullDiskTest {
    @TempDir
    Path dir;

    @Test
    void aBatchThatFoundTheFileFullIsCountedAndTheNextOnesAreWrittenOnceThereIsSpace() throws Exception {
        InstantSource clock = () -> Instant.parse("2026-12-01T10:00:00Z");
        HistoryStore store = HistoryStore.open(dir.resolve("history.db"), false);
        try (HistoryRecorder r = new HistoryRecorder(store, clock, Duration.ofDays(30), 1L << 30, 100_000, false,
                n -> null)) {
            java.lang.reflect.Field f = HistoryStore.class.getDeclaredField("connections");
            f.setAccessible(true);
            java.lang.reflect.Field w = HistoryConnections.Held.class.getDeclaredField("writer");
            w.setAccessible(true);
            Connection writer = (Connection) w.get(f.get(store));
            long pages;
            try (Statement s = writer.createStatement()) {
                pages = HistoryDialect.single(s, "PRAGMA page_count");
                s.execute("PRAGMA max_page_count = " + (pages + 2));
            }
            r.start();
            for (int i = 0; i < 2_000; i++) {
                received(r, i);
            }
            assertThat(r.flush(Duration.ofSeconds(30))).isTrue();
            assertThat(r.failedWrites()).isPositive();
            long failed = r.failedWrites();
            synchronized (store) {
                try (Statement s = writer.createStatement()) {
                    s.execute("PRAGMA max_page_count = 1000000");
                }
            }
            for (int i = 0; i < 10; i++) {
                received(r, 10_000 + i);
                assertThat(r.flush(Duration.ofSeconds(10))).isTrue();
            }
            assertThat(r.failedWrites()).isEqualTo(failed);
            assertThat(r.written()).isEqualTo(10);
            assertThat(store.count()).isEqualTo(10); // one receipt per message
        }
    }

    private static void received(HistoryRecorder r, int i) {
        Envelope e = Envelope.received(QueueId.next(Instant.now()), new MailAddress("app@example.com"),
                List.of(new MailAddress("rcpt" + i + "@example.net")), Instant.now(), "app");
        r.received(e, 100);
    }
}
