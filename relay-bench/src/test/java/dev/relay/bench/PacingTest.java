package dev.relay.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class PacingTest {
    private static final long MS = 1_000_000;

    @Test
    void theRunsMessagesAreDueAtEvenIntervalsOfOneOverTheRateAcrossAllConnections() {
        Pacing pacing = new Pacing(4, 100); // one message every 10 ms in total
        List<Long> due = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
            for (int m = 0; m < 5; m++) {
                due.add(pacing.dueNanos(c, m));
            }
        }
        assertThat(due).containsExactlyInAnyOrderElementsOf(LongStream.range(0, 20).map(k -> k * 10 * MS).boxed().toList());
    }

    @Test
    void eachConnectionSendsEveryConnectionsOverRateSecondsStartingAtItsTurn() {
        Pacing pacing = new Pacing(4, 100);
        assertThat(List.of(pacing.dueNanos(2, 0), pacing.dueNanos(2, 1), pacing.dueNanos(2, 2)))
                .containsExactly(20 * MS, 60 * MS, 100 * MS);
        assertThat(pacing.dueNanos(0, 0)).isZero();
    }

    @Test
    void aFractionalRateKeepsNanosecondPrecisionAndLongRunsDoNotOverflow() {
        assertThat(new Pacing(1, 3).dueNanos(0, 1)).isEqualTo(333_333_333L);
        assertThat(new Pacing(128, 0.5).dueNanos(127, 1_000_000)).isEqualTo((1_000_000L * 128 + 127) * 2_000_000_000L);
    }

    @Test
    void aRateOrConnectionCountThatCannotBePacedIsRefused() {
        assertThatThrownBy(() -> new Pacing(4, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("rate");
        assertThatThrownBy(() -> new Pacing(4, Double.NaN)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Pacing(0, 10)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("connections");
        assertThatThrownBy(() -> new Pacing(4, 10).dueNanos(4, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
