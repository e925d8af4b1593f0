package dev.relay.core.spool;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The commit stage of {@link Spool#store}: one thread makes the messages of many sessions visible together, so
 * that they share the directory fsyncs instead of paying two each.
 *
 * <p>A session first makes its own files durable (that part is per file), then calls {@link #commit} and waits.
 * The committer takes everything pending, and if other sessions are still syncing their files (they will arrive
 * within one fsync) it lingers up to {@code maxDelayNanos} for them, or until the batch holds {@code maxBatch}.
 * It hands the batch to the {@link BatchWriter}, which finishes each commit. With one sender there is no lingering
 * at all; under load the batches form by themselves while the previous batch's fsyncs run.
 *
 * <p>A commit that finds nothing to share (no batch being written, none queued, no other session syncing) is
 * written by its own thread as a batch of one: waking the committer thread and being woken by it again was a
 * tenth of a millisecond of the 250's latency at one connection, for nothing. Batches are still written one at
 * a time, so the commits that queue meanwhile form the next batch as before. (Not with a pause between batches:
 * that asks for batches even at one connection.)
 */
final class GroupCommitter implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GroupCommitter.class);

    /** Makes a batch visible and durable; must finish every commit of the batch, successfully or not. */
    interface BatchWriter {
        void write(List<Pending> batch);
    }

    /** One message waiting for its batch. */
    static final class Pending {
        final String name;
        private final CompletableFuture<Void> done = new CompletableFuture<>();

        Pending(String name) {
            this.name = name;
        }

        void succeed() {
            done.complete(null);
        }

        void fail(IOException e) {
            done.completeExceptionally(e);
        }
    }

    private final BatchWriter writer;
    private final long pauseNanos;
    private final long maxDelayNanos;
    private final int maxBatch;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    private final Thread thread;
    private int syncing;
    /** A batch is being written (by the committer thread or by a committing session itself). */
    private boolean writing;
    private boolean closed;
    private long batches;
    private long committed;

    GroupCommitter(BatchWriter writer, long maxDelayNanos, int maxBatch) {
        this("relay-spool-commit", writer, maxDelayNanos, maxBatch, 0);
    }

    /**
     * With {@code pauseNanos} above 0 the thread rests that long after each batch, so that the next one gathers
     * what arrives meanwhile: for work nobody waits on urgently (removals of delivered messages).
     */
    GroupCommitter(String threadName, BatchWriter writer, long maxDelayNanos, int maxBatch, long pauseNanos) {
        this.pauseNanos = pauseNanos;
        this.writer = writer;
        this.maxDelayNanos = maxDelayNanos;
        this.maxBatch = maxBatch;
        this.thread = Thread.ofPlatform().name(threadName).daemon().start(this::run);
    }

    /** A session starts syncing its files; it will {@link #commit} or {@link #syncAbandoned} soon. */
    void syncStarted() {
        lock.lock();
        try {
            syncing++;
        } finally {
            lock.unlock();
        }
    }

    /** A session that called {@link #syncStarted} will not commit after all. */
    void syncAbandoned() {
        lock.lock();
        try {
            syncing--;
            arrived.signal();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Queues the commit of {@code name} (whose files are durable in tmp/ and data/) and waits until its batch is
     * on stable storage. Ends the session's {@link #syncStarted} phase.
     *
     * @throws IOException when the batch could not be made durable; the message is then not visible
     */
    void commit(String name) throws IOException {
        Pending p = new Pending(name);
        boolean alone;
        lock.lock();
        try {
            syncing--;
            if (closed) {
                throw new IOException("the spool is closed");
            }
            alone = pauseNanos == 0 && !writing && queue.isEmpty() && syncing == 0; // a pause asks for batches
            if (alone) {
                writing = true;
                batches++;
                committed++;
            } else {
                queue.add(p);
                arrived.signal();
            }
        } finally {
            lock.unlock();
        }
        if (alone) {
            try {
                write(List.of(p));
            } finally {
                lock.lock();
                try {
                    writing = false;
                    arrived.signal(); // commits that queued meanwhile
                } finally {
                    lock.unlock();
                }
            }
        }
        try {
            p.done.join(); // not interruptible on purpose: the answer must match what is on disk
        } catch (CompletionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException("commit failed: " + e.getCause(), e.getCause());
        }
    }

    private void run() {
        while (true) {
            List<Pending> batch = nextBatch();
            if (batch == null) {
                return;
            }
            try {
                write(batch);
            } finally {
                lock.lock();
                try {
                    writing = false;
                } finally {
                    lock.unlock();
                }
            }
            if (pauseNanos > 0) {
                java.util.concurrent.locks.LockSupport.parkNanos(pauseNanos); // close() still drains the queue
            }
        }
    }

    private void write(List<Pending> batch) {
        try {
            writer.write(batch);
        } catch (RuntimeException e) { // the writer's contract says never; be safe anyway
            log.error("spool commit failed: {}", e.toString());
            for (Pending p : batch) {
                p.fail(new IOException("spool commit failed: " + e, e));
            }
        }
    }

    private List<Pending> nextBatch() {
        lock.lock();
        try {
            while ((queue.isEmpty() || writing) && !closed) {
                arrived.awaitUninterruptibly();
            }
            while (writing) { // closing: the last commit written by its session finishes first
                arrived.awaitUninterruptibly();
            }
            if (queue.isEmpty()) {
                return null; // closed and drained
            }
            long deadline = System.nanoTime() + maxDelayNanos;
            while (syncing > 0 && queue.size() < maxBatch && !closed) {
                if (!awaitUntil(arrived, deadline)) {
                    break;
                }
            }
            writing = true;
            List<Pending> batch = new ArrayList<>(Math.min(queue.size(), maxBatch));
            while (!queue.isEmpty() && batch.size() < maxBatch) {
                batch.add(queue.poll());
            }
            batches++; // counted before the sessions are released, so their callers see it
            committed += batch.size();
            return batch;
        } finally {
            lock.unlock();
        }
    }

    /** Commits queued and not yet taken into a batch. */
    int pending() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits on {@code c} (whose lock the caller holds) until it is signalled or {@code deadline} (a
     * {@link System#nanoTime} value) comes; false when the deadline has passed or the wait was interrupted: the
     * caller stops gathering then.
     */
    static boolean awaitUntil(Condition c, long deadline) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            return false;
        }
        try {
            c.awaitNanos(left);
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    /** Batches written so far and the commits they held (their ratio is the mean batch size). */
    CommitStats stats() {
        lock.lock();
        try {
            return new CommitStats(batches, committed);
        } finally {
            lock.unlock();
        }
    }

    /** Commits what is queued, then stops; later commits fail. */
    @Override
    public void close() {
        SpoolThreads.stop(lock, () -> {
            closed = true;
            arrived.signalAll();
        }, thread);
    }
}
