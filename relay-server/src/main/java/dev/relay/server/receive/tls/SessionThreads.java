package dev.relay.server.receive.tls;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The threads of one listener's sessions: a platform thread for each of the first {@code platform} sessions open
 * at once, a virtual thread for every one beyond.
 *
 * <p>Most relays serve a handful of busy connections (an application's connection pool, a sidecar's one client).
 * A session on a virtual thread pays for each blocking read with a trip through the JDK's poller and a hand-off to
 * a carrier thread; on a platform thread the kernel wakes it directly. At one connection that was 15-20% of the
 * relay's CPU per message and 7-19% of its rate (same JVM, sessions alternating between the two kinds). Virtual
 * threads remain for the many: 10,000 idle TLS sessions cost a virtual thread each, not a kernel thread with its
 * stack. Beyond a few, platform session threads compete with the virtual threads' carriers for the cores: the
 * listener gives one per core (the receive stage's {@code InboundListener.PLATFORM_SESSIONS}).
 */
public final class SessionThreads extends AbstractExecutorService {
    private final Semaphore platformLeft;
    private final ExecutorService platform;
    private final ExecutorService virtual = Executors.newVirtualThreadPerTaskExecutor();

    /** @param platform sessions that get a platform thread at most at once (0: all virtual) */
    public SessionThreads(String listener, int platform) {
        this.platformLeft = new Semaphore(platform);
        this.platform = Executors.newThreadPerTaskExecutor(
                Thread.ofPlatform().name("relay-session-" + listener + "-", 0).daemon(true).factory());
    }

    @Override
    public void execute(Runnable session) {
        if (!platformLeft.tryAcquire()) {
            virtual.execute(session);
            return;
        }
        try {
            platform.execute(() -> {
                try {
                    session.run();
                } finally {
                    platformLeft.release();
                }
            });
        } catch (RejectedExecutionException e) {
            platformLeft.release();
            throw e;
        }
    }

    /** Platform threads free for the next sessions. */
    int platformFree() {
        return platformLeft.availablePermits();
    }

    @Override
    public void shutdown() {
        platform.shutdown();
        virtual.shutdown();
    }

    @Override
    public List<Runnable> shutdownNow() {
        List<Runnable> never = new ArrayList<>(platform.shutdownNow());
        never.addAll(virtual.shutdownNow());
        return never;
    }

    @Override
    public boolean isShutdown() {
        return platform.isShutdown() && virtual.isShutdown();
    }

    @Override
    public boolean isTerminated() {
        return platform.isTerminated() && virtual.isTerminated();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        return platform.awaitTermination(timeout, unit)
                && virtual.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }
}
