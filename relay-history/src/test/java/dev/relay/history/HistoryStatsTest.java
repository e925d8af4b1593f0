package dev.relay.history;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The console overview's figures: events by kind since a time, and each upstream's newest failed attempt; on
 * SQLite and PostgreSQL.
 */
@ParameterizedClass
@ValueSource(strings = {"sqlite", "postgresql"})
class HistoryStatsTest {
    @TempDir
    Path dir;

    @Parameter
    String backend;

    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-12-01T10:00:00Z"));
    private HistoryRecorder recorder;

    @AfterEach
    void close() {
        if (recorder != null) {
            recorder.close();
        }
    }

    private void attempt(String upstream, String rcpt, Outcome outcome) {
        Envelope e = Envelope.received(QueueId.next(now.get()), new MailAddress("app@example.com"),
                List.of(new MailAddress(rcpt)), now.get(), "app");
        recorder.received(e, 100);
        recorder.attempted(e, 1);
        recorder.reported(e, new DeliveryReport(upstream, Map.of(new MailAddress(rcpt), outcome)));
        if (outcome instanceof Outcome.Delivered) {
            recorder.delivered(e, List.of(new MailAddress(rcpt)), upstream, 100, Duration.ofMillis(5));
        } else {
            recorder.deferred(e, List.of(new MailAddress(rcpt)), "later", now.get().plusSeconds(60));
        }
    }

    @Test
    void countsEventsSinceATimeAndFindsEachUpstreamsLastError() throws Exception {
        InstantSource clock = () -> now.get();
        recorder = new HistoryRecorder(HistoryBackends.open(backend, dir, false), clock,
                Duration.ofDays(30), 1L << 30, 1000, true, n -> null).start();
        attempt("a", "x@example.org", new Outcome.TransientFailure("421 4.7.0 old trouble"));
        now.set(now.get().plus(Duration.ofHours(2)));
        attempt("a", "y@example.org", new Outcome.Delivered("250 ok"));
        attempt("a", "z@example.org", new Outcome.TransientFailure("451 4.3.0 try later"));
        attempt("b", "w@example.org", new Outcome.Delivered("250 ok"));
        assertThat(recorder.flush(Duration.ofSeconds(10))).isTrue();
        HistoryStore store = recorder.store();

        Map<String, Long> lastHour = store.eventsByKind(now.get().minus(Duration.ofHours(1)));
        assertThat(lastHour).containsEntry("received", 3L).containsEntry("delivered", 2L)
                .containsEntry("deferred", 1L).doesNotContainKey("failed");
        assertThat(store.eventsByKind(now.get().minus(Duration.ofDays(1)))).containsEntry("received", 4L)
                .containsEntry("deferred", 2L);

        Map<String, HistoryStore.UpstreamError> errors = store.lastErrors(now.get().minus(Duration.ofDays(1)));
        assertThat(errors).containsOnlyKeys("a"); // b never failed
        assertThat(errors.get("a").code()).isEqualTo(451);
        assertThat(errors.get("a").text()).contains("try later");
        assertThat(store.lastErrors(now.get().plusSeconds(1))).isEmpty();
    }
}
