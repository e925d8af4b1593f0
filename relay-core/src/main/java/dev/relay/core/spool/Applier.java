package dev.relay.core.spool;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The second half of a {@link SlotCommit}: the thread that makes the names of messages committed in slots durable
 * and moves the checkpoint past them, in rounds shared by all messages committed meanwhile.
 *
 * <p>Each message gets a sequence number at commit ({@link #begin}); once its names are linked it is handed here
 * ({@link #linked}). A round fsyncs data/, incoming/ and active/ once, writes the {@code checkpoint} file (the lowest
 * sequence number not yet linked: every message below it is durably in the directories), and only then removes the
 * messages' slot names. Until then a crash finds the message in its slot ({@link SpoolRecovery}). Nothing may remove
 * a message's entry before the checkpoint is past it ({@link #awaitApplied}), else a delivered message could come
 * back from its slot.
 *
 * <p>Locking: the sequence numbers under their own monitor (two short sections per commit); the round's hand-over
 * under a lock with two conditions, which a commit takes only when the applier is idle (else it is gathering, and
 * takes the message too: no wake-up per message).
 */
final class Applier {
    private static final Logger log = LoggerFactory.getLogger(Spool.class);
    /**
     * The applier gathers this long before a round (unless someone waits for it, a removal most often): at one
     * connection a round's four flushes then serve many messages, not a few each.
     */
    private static final long PAUSE_NANOS = 50_000_000L;

    /** A message committed in a slot and given its names, waiting for a round. */
    private record Linked(String name, Path slot) {}

    private final DurableFiles files;
    private final Path checkpointFile;
    private final Path[] synced;
    private FileChannel checkpointChannel;
    /** Sequence numbers: the next one to give, and those given to commits not yet linked (under seqLock). */
    private final Object seqLock = new Object();
    private long nextSeq;
    private final TreeSet<Long> inFlight = new TreeSet<>();
    private final ConcurrentLinkedQueue<Linked> linked = new ConcurrentLinkedQueue<>();
    /** Names of messages committed in a slot and their sequence numbers, until the checkpoint passes them. */
    private final ConcurrentHashMap<String, Long> unapplied = new ConcurrentHashMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final Condition applied = lock.newCondition();
    /** Every message with a sequence number below it is durably in the directories. */
    private volatile long checkpoint;
    private boolean urgent; // under lock
    /** The applier waits for work (not gathering, not writing): only then does a new message wake it. */
    private volatile boolean idle;
    private boolean closed; // under lock
    private final AtomicLong rounds = new AtomicLong();
    private final AtomicLong messages = new AtomicLong();
    private Thread thread;

    /** @param synced the directories a round fsyncs, in order: data/, incoming/, active/ */
    Applier(DurableFiles files, Path checkpointFile, Path... synced) {
        this.files = files;
        this.checkpointFile = checkpointFile;
        this.synced = synced;
    }

    /** The next sequence number to give is at least {@code seq} (set by recovery, before {@link #start}). */
    void resumeAt(long seq) {
        synchronized (seqLock) {
            nextSeq = seq;
        }
    }

    /** After recovery, when everything recovered is durable in the directories: no slot content is live. */
    void start() throws IOException {
        checkpointChannel = DurableFiles.openPrivate(checkpointFile, StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        long seq;
        synchronized (seqLock) {
            seq = nextSeq;
        }
        writeCheckpoint(seq);
        files.syncDirectory(checkpointFile.getParent());
        thread = Thread.ofPlatform().name("relay-spool-apply").daemon().start(this::loop);
    }

    /** A commit starts: its sequence number. {@link #end} must follow, after {@link #linked} if it succeeded. */
    long begin() {
        synchronized (seqLock) {
            long seq = nextSeq++;
            inFlight.add(seq);
            return seq;
        }
    }

    /** The message {@code name}, sequence {@code seq}, is committed in {@code slot} and has its names. */
    void linked(String name, Path slot, long seq) {
        unapplied.put(name, seq);
        linked.add(new Linked(name, slot));
    }

    /** A commit ends (after {@link #linked}: see {@link #apply}); wakes the applier if it idles and there is work. */
    void end(long seq, boolean committed) {
        synchronized (seqLock) {
            inFlight.remove(seq);
        }
        if (committed && idle) {
            lock.lock();
            try {
                work.signal();
            } finally {
                lock.unlock();
            }
        }
    }

    long rounds() {
        return rounds.get();
    }

    long messages() {
        return messages.get();
    }

    /** Every {@code PAUSE_NANOS} while there is work (at once when someone waits for it): a round. */
    private void loop() {
        while (true) {
            lock.lock();
            try {
                idle = true; // before looking at linked: a store that adds after the look sees it
                while (linked.isEmpty() && !closed && !urgent) {
                    work.awaitUninterruptibly();
                }
                idle = false;
                if (closed && linked.isEmpty()) {
                    applied.signalAll();
                    return;
                }
                long deadline = System.nanoTime() + PAUSE_NANOS;
                while (!urgent && !closed) { // gather more: one round of fsyncs for all of them
                    if (!GroupCommitter.awaitUntil(work, deadline)) {
                        break;
                    }
                }
                urgent = false;
            } finally {
                lock.unlock();
            }
            try {
                apply();
            } catch (IOException | RuntimeException e) {
                lock.lock();
                try {
                    if (closed) { // a closed spool on a broken disk: the next open restores them from slots
                        log.warn("spool: closed while new messages' names could not be made durable ({}); they are "
                                + "safe in their slots and restored at the next open", e.toString());
                        applied.signalAll();
                        return;
                    }
                } finally {
                    lock.unlock();
                }
                log.error("spool: cannot make new messages' names durable, retrying in 1 s (they are safe in their "
                        + "slots): {}", e.toString());
                LockSupport.parkNanos(1_000_000_000L);
            }
        }
    }

    /**
     * One round. The new checkpoint is the lowest sequence number not yet linked: every message below it has its
     * names already, so the fsyncs that follow make them durable. active/ too: a message may have moved there from
     * incoming/ meanwhile (incoming/ is synced first, so the entry is durable in one of the two). Only then is the
     * checkpoint written, and then the slot names go (a crash that keeps one leaves a file with two names, which
     * recovery tells from a free slot).
     */
    private void apply() throws IOException {
        List<Linked> batch = new ArrayList<>();
        Linked l;
        while ((l = linked.poll()) != null) {
            batch.add(l);
        }
        long next;
        synchronized (seqLock) {
            next = inFlight.isEmpty() ? nextSeq : inFlight.first();
        }
        if (batch.isEmpty() && next == checkpoint) {
            return;
        }
        try {
            for (Path dir : synced) {
                files.syncDirectory(dir);
            }
            writeCheckpoint(next);
        } catch (IOException e) {
            linked.addAll(batch); // next round
            throw e;
        }
        lock.lock();
        try {
            checkpoint = next;
            applied.signalAll();
        } finally {
            lock.unlock();
        }
        rounds.incrementAndGet();
        messages.addAndGet(batch.size());
        for (Linked done : batch) {
            DurableFiles.deleteQuietly(done.slot());
            unapplied.remove(done.name());
        }
    }

    private void writeCheckpoint(long value) throws IOException {
        DurableFiles.writeFully(checkpointChannel.position(0), SpoolFiles.checkpoint(value));
        files.forceData(checkpointChannel);
        checkpoint = value;
    }

    /**
     * Waits until the message {@code name}, if it was committed in a slot, is past the checkpoint: before
     * anything removes its entry (else a crash could find it in its slot and deliver it again) or relies on its
     * data/ name being durable.
     */
    void awaitApplied(String name) throws IOException {
        Long seq = unapplied.get(name);
        if (seq == null || seq < checkpoint) {
            return;
        }
        lock.lock();
        try {
            urgent = true;
            work.signal();
            while (checkpoint <= seq) {
                if (closed && !thread.isAlive()) {
                    throw new IOException("the spool is closed");
                }
                applied.awaitNanos(100_000_000L);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted waiting for the spool", e);
        } finally {
            lock.unlock();
        }
    }

    /** Stops the thread after its last round (waiting up to 10 s). */
    void close() {
        if (thread == null) {
            return;
        }
        SpoolThreads.stop(lock, () -> {
            closed = true;
            work.signal();
        }, thread);
        try {
            checkpointChannel.close();
        } catch (IOException ignored) {
            // closing a file that was only written and synced
        }
    }
}
