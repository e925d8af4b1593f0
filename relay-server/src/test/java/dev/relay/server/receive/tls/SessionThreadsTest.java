package dev.relay.server.receive.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SessionThreadsTest {
    @Test
    void theFirstSessionsGetPlatformThreadsTheRestVirtualAndAnEndedSessionFreesItsPlace() throws Exception {
        SessionThreads threads = new SessionThreads("test", 2);
        List<Boolean> virtual = new CopyOnWriteArrayList<>();
        CountDownLatch started = new CountDownLatch(3);
        CountDownLatch end = new CountDownLatch(1);
        for (int i = 0; i < 3; i++) {
            threads.execute(() -> {
                virtual.add(Thread.currentThread().isVirtual());
                started.countDown();
                await(end);
            });
        }
        assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(virtual).containsExactlyInAnyOrder(false, false, true);
        assertThat(threads.platformFree()).isZero();

        end.countDown(); // the three sessions end: both platform places are free again
        CountDownLatch more = new CountDownLatch(2);
        List<Boolean> next = new CopyOnWriteArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (threads.platformFree() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(5); // (the ended sessions give their places back as their threads finish)
        }
        assertThat(threads.platformFree()).isEqualTo(2);
        for (int i = 0; i < 2; i++) {
            threads.execute(() -> {
                next.add(Thread.currentThread().isVirtual());
                more.countDown();
            });
        }
        assertThat(more.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(next).containsExactly(false, false);

        threads.shutdown();
        assertThat(threads.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
        assertThat(threads.isTerminated()).isTrue();
    }

    @Test
    void withNoPlatformPlacesEverySessionIsVirtual() throws Exception {
        SessionThreads threads = new SessionThreads("test", 0);
        CountDownLatch ran = new CountDownLatch(1);
        List<Boolean> virtual = new CopyOnWriteArrayList<>();
        threads.execute(() -> {
            virtual.add(Thread.currentThread().isVirtual());
            ran.countDown();
        });
        assertThat(ran.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(virtual).containsExactly(true);
        threads.shutdownNow();
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
