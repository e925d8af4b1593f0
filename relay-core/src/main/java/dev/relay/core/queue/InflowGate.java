package dev.relay.core.queue;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The in-flow pause (Postfix's {@code in_flow_delay}): when new mail waiting for a delivery slot is above
 * {@link #BACKLOG}, a submission pauses after its commit (the message is durable already, its 250 waits) until the
 * backlog is back under the limit, or {@link #DELAY_NANOS} at most: never a refusal, never a hang. When acceptance
 * outruns delivery, the receiving sessions (many threads) would take the CPU from the delivery (one event loop)
 * and only build a backlog; the pause gives it back.
 *
 * <p>The scheduler reports the backlog (the length of its FIFO, under its own lock) on every change; the pause
 * itself waits on this gate's lock, never on the scheduler's, and costs nothing while the backlog is under the
 * limit (one volatile read).
 */
final class InflowGate {
    static final int BACKLOG = 64;
    private static final long DELAY_NANOS = 1_000_000_000L;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition room = lock.newCondition();
    private final AtomicInteger waiters = new AtomicInteger();
    private final QueueListener listener;
    private volatile int backlog;
    private volatile boolean active;

    InflowGate(QueueListener listener) {
        this.listener = listener;
    }

    /** New mail waiting now, after an addition or a removal that need not wake a paused submission. */
    void backlog(int n) {
        backlog = n;
    }

    /** New mail waiting now, after the scheduler took one: a paused submission goes on if there is room. */
    void drained(int n) {
        backlog = n;
        if (n <= BACKLOG && waiters.get() > 0) {
            lock.lock();
            try {
                room.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** Pauses the calling submission while the backlog is above the limit, up to {@link #DELAY_NANOS}. */
    void pauseIfOver() {
        if (backlog <= BACKLOG || !active) {
            return;
        }
        long t0 = System.nanoTime();
        lock.lock();
        waiters.incrementAndGet();
        try {
            long left = DELAY_NANOS;
            while (backlog > BACKLOG && active && left > 0) {
                left = room.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            waiters.decrementAndGet();
            lock.unlock();
        }
        listener.inflowPaused(System.nanoTime() - t0);
    }

    /** Submissions in a pause right now (tests wait for one instead of guessing how long it takes). */
    int paused() {
        return waiters.get();
    }

    /** Pauses apply from now on (the scheduler runs: someone drains the backlog). */
    void open() {
        active = true;
    }

    /** No more pauses, and the paused submissions answer now (stopping: nobody drains the backlog any more). */
    void close() {
        active = false;
        lock.lock();
        try {
            room.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
