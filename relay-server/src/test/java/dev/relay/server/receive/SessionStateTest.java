package dev.relay.server.receive;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.server.receive.SessionState.Deadline;
import java.io.ByteArrayInputStream;
import java.net.Socket;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The deadlines a session has passed, by the clock it is given: no test waits for real time. */
class SessionStateTest {
    static final long IDLE = Duration.ofMinutes(5).toNanos();
    static final long DATA = Duration.ofMinutes(10).toNanos();
    static final long HANDSHAKE = Duration.ofSeconds(30).toNanos();
    static final long T0 = 1_000_000_000_000L; // any origin: only differences count

    private final SessionState state = new SessionState(new Socket(), T0);

    private Deadline at(Duration after) {
        return state.due(T0 + after.toNanos(), IDLE, DATA, HANDSHAKE);
    }

    @Test
    void anIdleSessionIsDueAfterTheIdleTimeoutByTheClockItIsGiven() {
        assertThat(at(Duration.ofMinutes(5))).isEqualTo(Deadline.NONE);
        assertThat(at(Duration.ofMinutes(5).plusNanos(1))).isEqualTo(Deadline.IDLE);
    }

    @Test
    void theDataDeadlineRunsFromTheStartOfTheData() {
        state.dataSince = T0 + Duration.ofMinutes(1).toNanos();
        state.data = new DataStream(new ByteArrayInputStream(new byte[0]));
        state.lastActive = T0 + Duration.ofMinutes(10).toNanos(); // not idle: only the data deadline can be due
        assertThat(at(Duration.ofMinutes(11))).isEqualTo(Deadline.NONE);
        assertThat(at(Duration.ofMinutes(11).plusNanos(1))).isEqualTo(Deadline.DATA);
        state.data = null;
        assertThat(at(Duration.ofMinutes(11).plusNanos(1))).as("the data ended").isEqualTo(Deadline.NONE);
    }

    @Test
    void aHandshakeIsDueAfterTheHandshakeTimeout() {
        state.handshakeSince = T0;
        state.handshaking = true;
        assertThat(at(Duration.ofSeconds(30))).isEqualTo(Deadline.NONE);
        assertThat(at(Duration.ofSeconds(31))).isEqualTo(Deadline.HANDSHAKE);
        state.handshaking = false;
        assertThat(at(Duration.ofSeconds(31))).isEqualTo(Deadline.NONE);
    }
}
