package dev.relay.core.spool;

import java.util.concurrent.locks.Lock;

/** The stop the spool's own threads (the applier, the committers) share. */
final class SpoolThreads {
    /** How long a stop waits for the thread's last round. */
    static final long STOP_WAIT_MILLIS = 10_000;

    private SpoolThreads() {
    }

    /**
     * Tells {@code thread} to stop, under {@code lock} ({@code closeUnderLock} marks its state closed and wakes it),
     * then waits up to {@link #STOP_WAIT_MILLIS} for its last round.
     */
    static void stop(Lock lock, Runnable closeUnderLock, Thread thread) {
        lock.lock();
        try {
            closeUnderLock.run();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(STOP_WAIT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
