package dev.relay.core.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {
    private static final Instant RECEIVED = Instant.parse("2026-11-01T00:00:00Z");

    private static RetryPolicy policy(double jitter) {
        return new RetryPolicy(Duration.ofMinutes(1), Duration.ofHours(1), Duration.ofDays(5), () -> jitter);
    }

    @ParameterizedTest(name = "attempt {0}, jitter {1}: next after {2}")
    @CsvSource({
            // attempts, jitter, expected delay
            "1,  0.0,   PT1M",
            "1,  0.5,   PT1M15S",
            "1,  0.999, PT1M29.97S",
            "2,  0.0,   PT2M",
            "3,  0.0,   PT4M",
            "4,  0.0,   PT8M",
            "5,  0.0,   PT16M",
            "6,  0.0,   PT32M",
            "6,  0.5,   PT40M",
            "7,  0.0,   PT1H",   // 64m capped at the maximum
            "7,  0.9,   PT1H",   // jitter never exceeds the maximum
            "30, 0.0,   PT1H",
            "100, 0.5,  PT1H",   // no overflow for very many attempts
            "1,  -1.0,  PT1M",   // a broken jitter source means no jitter
            "1,  NaN,   PT1M",
    })
    void backoffDoublesWithJitterBetweenMinimumAndMaximum(int attempts, double jitter, Duration expected) {
        Instant now = RECEIVED.plus(Duration.ofHours(1));
        RetryPolicy.Decision d = policy(jitter).afterTransientFailure(RECEIVED, attempts, now);
        assertThat(d).isEqualTo(new RetryPolicy.Decision.Retry(now.plus(expected), expected));
    }

    @ParameterizedTest(name = "failure at age {0}: {1}")
    @CsvSource({
            // age of the message at the failure, expected decision (retry at age / expire)
            "PT0S,          retry PT1M",
            "PT119H,        retry PT119H1M",
            "PT119H59M30S,  retry PT120H",     // the last retry is at the end of the lifetime, not after it
            "PT120H,        expire",
            "PT130H,        expire",
    })
    void messageExpiresAtTheEndOfItsLifetime(Duration age, String expected) {
        RetryPolicy.Decision d = policy(0.0).afterTransientFailure(RECEIVED, 1, RECEIVED.plus(age));
        if (expected.equals("expire")) {
            assertThat(d).isEqualTo(new RetryPolicy.Decision.Expire(age));
        } else {
            Duration at = Duration.parse(expected.substring("retry ".length()));
            assertThat(d).isInstanceOfSatisfying(RetryPolicy.Decision.Retry.class,
                    r -> assertThat(r.at()).isEqualTo(RECEIVED.plus(at)));
        }
    }

    @Test
    void fixedPolicyKeepsTheOldConstantRetryDelay() {
        RetryPolicy fixed = RetryPolicy.fixed(Duration.ofSeconds(10));
        for (int attempts = 1; attempts < 10; attempts++) {
            assertThat(fixed.backoff(attempts)).isEqualTo(Duration.ofSeconds(10));
        }
    }

    @Test
    void invalidBoundsAreRefused() {
        assertThatThrownBy(() -> new RetryPolicy(Duration.ZERO, Duration.ofHours(1), Duration.ofDays(1), () -> 0))
                .hasMessageContaining("minBackoff");
        assertThatThrownBy(() -> new RetryPolicy(Duration.ofHours(2), Duration.ofHours(1), Duration.ofDays(1),
                () -> 0)).hasMessageContaining("maxBackoff");
        assertThatThrownBy(() -> policy(0).afterTransientFailure(RECEIVED, 0, RECEIVED))
                .hasMessageContaining("at least 1");
    }
}
