package dev.relay.core.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class CircuitBreakerTest {
    private static final CircuitBreaker.Policy POLICY =
            new CircuitBreaker.Policy(3, Duration.ofMinutes(1), Duration.ofSeconds(30));
    private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

    private final CircuitBreaker breaker = new CircuitBreaker(POLICY);

    private static Instant at(int seconds) {
        return T0.plusSeconds(seconds);
    }

    private void fail(int times, int atSecond) {
        for (int i = 0; i < times; i++) {
            assertThat(breaker.tryAcquire(at(atSecond))).isTrue();
            breaker.onFailure(at(atSecond));
        }
    }

    @Test
    void opensAfterTheConfiguredConsecutiveFailures() {
        fail(2, 0);
        assertThat(breaker.state()).isEqualTo(CircuitState.CLOSED);
        fail(1, 1);
        assertThat(breaker.state()).isEqualTo(CircuitState.OPEN);
        assertThat(breaker.tryAcquire(at(2))).isFalse();
    }

    @Test
    void aSuccessResetsTheStreak() {
        fail(2, 0);
        breaker.onSuccess();
        fail(2, 1);
        assertThat(breaker.state()).isEqualTo(CircuitState.CLOSED);
    }

    @Test
    void failuresSpreadBeyondTheWindowDoNotOpen() {
        fail(2, 0);
        fail(1, 61); // the streak started at 0 is older than the window: a new streak of one
        fail(1, 62);
        assertThat(breaker.state()).isEqualTo(CircuitState.CLOSED);
        fail(1, 63);
        assertThat(breaker.state()).isEqualTo(CircuitState.OPEN);
    }

    @Test
    void afterTheCoolDownExactlyOneProbeGoesThrough() {
        fail(3, 0);
        assertThat(breaker.tryAcquire(at(29))).isFalse();
        assertThat(breaker.tryAcquire(at(30))).isTrue();
        assertThat(breaker.state()).isEqualTo(CircuitState.HALF_OPEN);
        assertThat(breaker.tryAcquire(at(31))).as("a second attempt while the probe runs").isFalse();
    }

    @Test
    void aSuccessfulProbeClosesTheCircuit() {
        fail(3, 0);
        assertThat(breaker.tryAcquire(at(30))).isTrue();
        breaker.onSuccess();
        assertThat(breaker.state()).isEqualTo(CircuitState.CLOSED);
        assertThat(breaker.tryAcquire(at(31))).isTrue();
        assertThat(breaker.tryAcquire(at(31))).isTrue();
    }

    @Test
    void aFailedProbeOpensTheCircuitForAnotherCoolDown() {
        fail(3, 0);
        assertThat(breaker.tryAcquire(at(30))).isTrue();
        breaker.onFailure(at(30));
        assertThat(breaker.state()).isEqualTo(CircuitState.OPEN);
        assertThat(breaker.tryAcquire(at(59))).isFalse();
        assertThat(breaker.tryAcquire(at(60))).isTrue();
    }

    @Test
    void lateFailuresOfAttemptsAdmittedBeforeOpeningDoNotExtendTheCoolDown() {
        fail(3, 0);
        breaker.onFailure(at(20)); // an attempt admitted at 0 that reports late
        assertThat(breaker.tryAcquire(at(30))).isTrue();
    }

    @Test
    void theGaugeLevelsAreZeroOneTwo() {
        assertThat(CircuitState.CLOSED.level()).isZero();
        assertThat(CircuitState.HALF_OPEN.level()).isEqualTo(1);
        assertThat(CircuitState.OPEN.level()).isEqualTo(2);
        assertThat(CircuitState.HALF_OPEN.key()).isEqualTo("half-open");
    }

    @Test
    void availableAtTellsWhenTheNextAttemptMayGoWithoutTakingIt() {
        assertThat(breaker.availableAt()).isEqualTo(Instant.MIN);
        fail(3, 0);
        assertThat(breaker.availableAt()).isEqualTo(at(30));
        assertThat(breaker.availableAt()).as("asking takes no probe").isEqualTo(at(30));
        assertThat(breaker.tryAcquire(at(30))).isTrue();
        assertThat(breaker.availableAt()).as("the probe is in flight").isEqualTo(Instant.MAX);
        breaker.onSuccess();
        assertThat(breaker.availableAt()).isEqualTo(Instant.MIN);
    }

    @Test
    void anOperatorProbeEndsTheCoolDownOfAnOpenCircuitOnly() {
        assertThat(breaker.probeNow(at(0))).as("closed: nothing to probe").isFalse();
        fail(3, 0);
        assertThat(breaker.tryAcquire(at(5))).isFalse();
        assertThat(breaker.probeNow(at(5))).isTrue();
        assertThat(breaker.availableAt()).isEqualTo(at(5));
        assertThat(breaker.tryAcquire(at(5))).as("the probe goes now").isTrue();
        assertThat(breaker.tryAcquire(at(5))).as("one probe only").isFalse();
        assertThat(breaker.probeNow(at(5))).as("half-open: the probe is already out").isFalse();
        breaker.onFailure(at(6));
        assertThat(breaker.availableAt()).as("a failed probe: a new cool-down").isEqualTo(at(36));
    }
}
