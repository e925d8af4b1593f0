package dev.relay.core.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The token buckets and the back-pressure as pure functions of the time they are given. */
class PacingTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @Test
    void perSecondBucketLetsABurstThroughThenSpacesMessages() {
        RateLimiter rate = new RateLimiter(new UpstreamTarget.Rate(4, 0), 0);

        for (int i = 0; i < 4; i++) {
            assertThat(rate.tryAcquire(0, 1)).isZero();
        }
        assertThat(rate.tryAcquire(0, 1)).isEqualTo(250 * MS);
        assertThat(rate.tryAcquire(250 * MS, 1)).isZero();
        assertThat(rate.tryAcquire(250 * MS, 1)).isPositive();
    }

    @Test
    void halvedRateFactorDoublesTheWait() {
        RateLimiter rate = new RateLimiter(new UpstreamTarget.Rate(1, 0), 0);
        assertThat(rate.tryAcquire(0, 1)).isZero();

        assertThat(rate.tryAcquire(0, 0.5)).isEqualTo(2 * SECOND);
    }

    @Test
    void fractionalRateAllowsOneMessageEveryFewSeconds() {
        RateLimiter rate = new RateLimiter(new UpstreamTarget.Rate(0.5, 0), 0);

        assertThat(rate.tryAcquire(0, 1)).isZero();
        assertThat(rate.tryAcquire(SECOND, 1)).isEqualTo(SECOND);
        assertThat(rate.tryAcquire(2 * SECOND, 1)).isZero();
    }

    @Test
    void dailyQuotaRefillsOverTheDay() {
        RateLimiter rate = new RateLimiter(new UpstreamTarget.Rate(0, 2), 0);

        assertThat(rate.tryAcquire(0, 1)).isZero();
        assertThat(rate.tryAcquire(0, 1)).isZero();
        long wait = rate.tryAcquire(0, 1);
        assertThat(Duration.ofNanos(wait)).isEqualTo(Duration.ofHours(12));
        assertThat(wait).isGreaterThan(ConnectionPool.MAX_RATE_WAIT.toNanos()); // so the pool defers it
    }

    @Test
    void theWaitUntilTheKthGrantSpacesDeferredMessagesOneTokenApart() {
        RateLimiter rate = new RateLimiter(new UpstreamTarget.Rate(0, 2), 0);
        assertThat(rate.untilGrant(0, 1, 2)).as("two tokens there").isZero();
        rate.tryAcquire(0, 1);
        rate.tryAcquire(0, 1);
        assertThat(Duration.ofNanos(rate.untilGrant(0, 1, 1))).isEqualTo(Duration.ofHours(12));
        assertThat(Duration.ofNanos(rate.untilGrant(0, 1, 3))).isEqualTo(Duration.ofHours(36));
        assertThat(rate.untilGrant(0, 1, 1)).as("nothing taken").isEqualTo(rate.tryAcquire(0, 1));
    }

    @Test
    void throttlingHalvesConcurrencyAndRateAndPausesThenRecoversStepByStep() {
        Backpressure p = new Backpressure(Duration.ofSeconds(1), Duration.ofMinutes(1), Duration.ofMinutes(1));
        assertThat(p.concurrency(10, 0)).isEqualTo(10);
        assertThat(p.pause(0)).isZero();

        p.throttled(0);
        assertThat(p.concurrency(10, 0)).isEqualTo(5);
        assertThat(p.rateFactor(0)).isEqualTo(0.5);
        assertThat(p.pause(0)).isEqualTo(SECOND);

        p.throttled(SECOND);
        assertThat(p.concurrency(10, SECOND)).isEqualTo(2);
        assertThat(p.pause(SECOND)).isEqualTo(2 * SECOND);
        assertThat(p.pause(3 * SECOND)).isZero();

        long minute = TimeUnit.MINUTES.toNanos(1);
        assertThat(p.concurrency(10, SECOND + minute)).isEqualTo(5);
        assertThat(p.concurrency(10, SECOND + 2 * minute)).isEqualTo(10);
    }

    @Test
    void concurrencyNeverDropsBelowOneAndPauseIsCapped() {
        Backpressure p = new Backpressure(Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofMinutes(1));
        for (int i = 0; i < 20; i++) {
            p.throttled(0);
        }
        assertThat(p.concurrency(10, 0)).isEqualTo(1);
        assertThat(p.pause(0)).isEqualTo(10 * SECOND);
    }

    @Test
    void throttlingRepliesAreRecognised() {
        assertThat(reply(421, "4.7.0 Too many connections").isThrottling()).isTrue();
        assertThat(reply(451, "4.7.1 Rate limit exceeded").isThrottling()).isTrue();
        assertThat(reply(454, "Throttling failure: Maximum sending rate exceeded.").isThrottling()).isTrue();
        assertThat(reply(450, "4.2.1 mailbox busy").isThrottling()).isFalse();
        assertThat(reply(550, "5.7.1 relaying denied").isThrottling()).isFalse();
    }

    private static SmtpReply reply(int code, String text) {
        return new SmtpReply(code, java.util.List.of(text));
    }
}
