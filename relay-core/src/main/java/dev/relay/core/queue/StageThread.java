package dev.relay.core.queue;

/**
 * The virtual thread of a queue stage that runs on its own ({@link FailedSweep}, {@link DelayWarning}): started
 * once, stopped by an interrupt, which its loop takes as the end.
 */
final class StageThread {
    private final String name;
    private volatile Thread thread;

    StageThread(String name) {
        this.name = name;
    }

    void start(Runnable loop) {
        thread = Thread.ofVirtual().name(name).start(loop);
    }

    /** Interrupts the thread, if it was started; does not wait for it. */
    void stop() {
        Thread t = thread;
        if (t != null) {
            t.interrupt();
        }
    }
}
