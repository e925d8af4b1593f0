package dev.relay.bench;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/** Where a paced run starts: once every session is ready (or gone), the first to pass sets the origin. */
final class PacedStart {
    private final CountDownLatch ready;
    private final Set<LoadSession> arrived = ConcurrentHashMap.newKeySet();
    private final AtomicLong origin = new AtomicLong();

    PacedStart(int sessions) {
        ready = new CountDownLatch(sessions);
    }

    /** Called by a ready session: waits for the others, returns the origin of the schedule (nanoTime). */
    long arrive(LoadSession s) throws InterruptedException {
        if (arrived.add(s)) {
            ready.countDown();
        }
        ready.await();
        origin.compareAndSet(0, System.nanoTime());
        return origin.get();
    }

    void leave(LoadSession s) {
        if (arrived.add(s)) {
            ready.countDown();
        }
    }

    long origin() {
        return origin.get();
    }
}
