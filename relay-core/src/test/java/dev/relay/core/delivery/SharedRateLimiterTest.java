package dev.relay.core.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The limiter's logic against an in-memory quota; the PostgreSQL one is tested in relay-server. */
class SharedRateLimiterTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final UpstreamTarget.Rate TWENTY = new UpstreamTarget.Rate(20, 0);

    /** A shared bucket in memory: hands out what it has, or fails while {@code down}. */
    private static class Quota implements SharedQuota {
        long tokens = 1_000;
        long validFor = 1_000 * MS;
        long waitWhenEmpty = 300 * MS;
        boolean down;
        int calls;
        final List<Boolean> fallbacks = new ArrayList<>();

        @Override
        public synchronized Grant take(String upstream, UpstreamTarget.Rate rate, long n) throws Exception {
            calls++;
            if (down) {
                throw new java.sql.SQLException("connection refused");
            }
            long got = Math.min(n, tokens);
            tokens -= got;
            return new Grant(got, got == 0 ? waitWhenEmpty : 0, validFor);
        }

        @Override
        public int expectedReplicas() {
            return 4;
        }

        @Override
        public synchronized void fallback(String upstream, boolean on) {
            fallbacks.add(on);
        }
    }

    private final AtomicLong clock = new AtomicLong(1_000_000);

    private SharedRateLimiter limiter(Quota quota) {
        return new SharedRateLimiter("primary", TWENTY, quota, Runnable::run, clock::get, () -> { });
    }

    /** Asks until a token is granted (a refill answers "wait" once); how many asks it took. */
    private int acquire(SharedRateLimiter l) {
        for (int i = 1; ; i++) {
            if (l.tryAcquire(clock.get(), 1) == 0) {
                return i;
            }
            assertThat(i).isLessThan(3);
        }
    }

    @Test
    void takesAQuarterOfASecondsRateAtOnceSoAReplicaMakesOneRoundTripPerFiveMessagesAt20PerSecond() {
        assertThat(SharedRateLimiter.batch(TWENTY)).isEqualTo(5);
        assertThat(SharedRateLimiter.batch(new UpstreamTarget.Rate(14, 0))).isEqualTo(4);
        assertThat(SharedRateLimiter.batch(new UpstreamTarget.Rate(0.5, 0))).isEqualTo(1);
        assertThat(SharedRateLimiter.batch(new UpstreamTarget.Rate(0, 3))).isEqualTo(3);
        Quota quota = new Quota();
        SharedRateLimiter l = limiter(quota);
        for (int i = 0; i < 100; i++) {
            acquire(l);
        }
        assertThat(quota.calls).isEqualTo(20);
        assertThat(l.roundTrips()).isEqualTo(20);
        assertThat(quota.tokens).isEqualTo(900);
    }

    @Test
    void tokensAreNotUsedPastTheirWindowAndAnEmptyBucketIsWaitedForWithoutAskingAgain() {
        Quota quota = new Quota();
        quota.validFor = 10 * MS;
        SharedRateLimiter l = limiter(quota);
        acquire(l);
        assertThat(quota.tokens).isEqualTo(995);
        clock.addAndGet(20 * MS); // the 4 tokens left belong to a window that is over
        acquire(l);
        assertThat(quota.calls).isEqualTo(2);
        assertThat(quota.tokens).isEqualTo(990);

        quota.tokens = 0;
        clock.addAndGet(20 * MS);
        assertThat(l.tryAcquire(clock.get(), 1)).isEqualTo(SharedRateLimiter.PENDING); // asks, gets none
        assertThat(l.tryAcquire(clock.get(), 1)).isEqualTo(300 * MS);
        clock.addAndGet(100 * MS);
        assertThat(l.tryAcquire(clock.get(), 1)).isEqualTo(200 * MS);
        assertThat(l.untilGrant(clock.get(), 1, 3)).isEqualTo(200 * MS + 2 * 50 * MS);
        assertThat(quota.calls).isEqualTo(3);
    }

    @Test
    void anUnreachableDatabaseFallsBackToRateOverReplicasAndTheSharedBucketComesBackWhenItDoes() {
        Quota quota = new Quota();
        quota.down = true;
        SharedRateLimiter l = limiter(quota);
        assertThat(l.tryAcquire(clock.get(), 1)).isEqualTo(SharedRateLimiter.PENDING);
        assertThat(l.onFallback()).isTrue();
        assertThat(quota.fallbacks).containsExactly(true);
        // 20/s over 4 replicas: 5 per second from the local bucket, never a stop
        int granted = 0;
        for (int i = 0; i < 10; i++) {
            if (l.tryAcquire(clock.get(), 1) == 0) {
                granted++;
            }
        }
        assertThat(granted).isEqualTo(5);
        assertThat(l.tryAcquire(clock.get(), 1)).isBetween(199 * MS, 201 * MS);
        assertThat(quota.calls).isEqualTo(1); // not retried before RETRY_SHARED

        quota.down = false;
        clock.addAndGet(SharedRateLimiter.RETRY_SHARED);
        l.tryAcquire(clock.get(), 1); // retries (and still answers from the fallback bucket meanwhile)
        assertThat(l.onFallback()).isFalse();
        assertThat(quota.fallbacks).containsExactly(true, false);
        acquire(l);
        assertThat(quota.calls).isEqualTo(2);
    }

    @Test
    void theRoundTripRunsOffTheCallersThreadAndWakesThePoolWhenDone() throws InterruptedException {
        AtomicReference<Thread> tookOn = new AtomicReference<>();
        CountDownLatch woken = new CountDownLatch(1);
        Quota quota = new Quota() {
            @Override
            public synchronized Grant take(String upstream, UpstreamTarget.Rate rate, long n) throws Exception {
                tookOn.set(Thread.currentThread());
                return super.take(upstream, rate, n);
            }
        };
        SharedRateLimiter l = new SharedRateLimiter("primary", TWENTY, quota,
                r -> Thread.ofVirtual().start(r), clock::get, woken::countDown);
        assertThat(l.tryAcquire(clock.get(), 1)).isEqualTo(SharedRateLimiter.PENDING);
        assertThat(woken.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(tookOn.get()).isNotSameAs(Thread.currentThread());
        assertThat(tookOn.get().isVirtual()).isTrue();
        assertThat(l.tryAcquire(clock.get(), 1)).isZero();
    }
}
