package dev.relay.core.spool;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The free slots: files in {@code slots/} whose names are durable and whose content is stale (below the
 * checkpoint), mostly the body files of delivered messages, kept to be overwritten by new ones.
 *
 * <p>Why reuse files at all, told once here: creating a file allocates an inode, and on ext4 without a journal
 * that allocation scans past every recently deleted inode (a quarter to a third of the relay's CPU samples under
 * load); and an fsync of a file whose blocks exist is much cheaper than one of a new file (0.2 ms against 1.4 ms on
 * the benchmark VM). So a delivered message's file comes here instead of being deleted, and a commit into a slot
 * needs no directory fsync: the slot's name is durable already. A file deleted because the pool was full is a
 * recently deleted inode that slows the next burst's creations: the bounds are sized for the backlog of a burst.
 *
 * <p>Small files only, a bounded number; the last one freed is used first (its pages are the likeliest still
 * cached). Lock-free: a concurrent deque and counters, no lock or allocation per message beyond the {@link Slot}.
 */
final class SlotPool {
    private static final Logger log = LoggerFactory.getLogger(Spool.class);
    /** Slot files made at once when the pool is empty. */
    private static final int NEW_SLOTS = 16;
    /** At most this many files wait for reuse, each at most MAX_SIZE bytes and MAX_BYTES together. */
    private static final int MAX_FILES = 8192;
    private static final long MAX_SIZE = 256 * 1024;
    private static final long MAX_BYTES = 64L * 1024 * 1024;

    /** A file in slots/ and its size. */
    record Slot(Path path, long size) {}

    private final Path dir;
    private final DurableFiles files;
    private final ConcurrentLinkedDeque<Slot> free = new ConcurrentLinkedDeque<>();
    private final AtomicInteger count = new AtomicInteger();
    private final AtomicLong bytes = new AtomicLong();
    /** The highest number in a slot name given so far ({@code n<number>}). */
    private final AtomicLong names = new AtomicLong();

    SlotPool(Path dir, DurableFiles files) {
        this.dir = dir;
        this.files = files;
    }

    Path dir() {
        return dir;
    }

    /** Whether the pool takes another file now. */
    boolean hasRoom() {
        return count.get() < MAX_FILES && bytes.get() < MAX_BYTES;
    }

    /** Notes a slot found at open, so that new names never repeat it. */
    void noteExisting(String file) {
        if (file.startsWith("n")) {
            try {
                names.accumulateAndGet(Long.parseLong(file.substring(1)), Math::max);
            } catch (NumberFormatException ignored) {
                // not a name the spool gives; treated like any other slot
            }
        }
    }

    /**
     * A slot: a free one from the pool, else a new file whose name is made durable first (with a few more for the
     * pool, so that a burst on an empty pool pays one directory fsync per {@code NEW_SLOTS} messages).
     */
    Slot take() throws IOException {
        Slot r = poll();
        if (r != null) {
            return r;
        }
        int n = count.get() < MAX_FILES - NEW_SLOTS ? NEW_SLOTS : 1;
        List<Path> made = new ArrayList<>(n);
        try {
            for (int i = 0; i < n; i++) {
                Path p = newName();
                Files.createFile(p, DurableFiles.PRIVATE_FILE);
                made.add(p);
            }
            files.syncDirectory(dir);
        } catch (IOException e) {
            made.forEach(DurableFiles::deleteQuietly);
            throw e;
        }
        for (Path p : made.subList(1, n)) {
            offer(new Slot(p, 0), false); // behind the reused ones, whose pages are cached
        }
        return new Slot(made.get(0), 0);
    }

    /**
     * A slot whose commit failed goes back to the pool emptied (a crash before the truncation reaches the disk
     * may still find its message: a duplicate of one the client was told failed, never a loss).
     */
    void release(Slot slot) {
        try (FileChannel ch = FileChannel.open(slot.path(), StandardOpenOption.WRITE)) {
            ch.truncate(0);
        } catch (IOException e) {
            DurableFiles.deleteQuietly(slot.path());
            return;
        }
        offer(new Slot(slot.path(), 0), true);
    }

    /** Puts a free slot into the pool: first, to be used next, or last. */
    void offer(Slot r, boolean first) {
        count.incrementAndGet();
        bytes.addAndGet(r.size());
        if (first) {
            free.addFirst(r);
        } else {
            free.addLast(r);
        }
    }

    /** The slot freed last, taken out of the pool, or null if the pool is empty. */
    Slot poll() {
        Slot r = free.pollFirst();
        if (r != null) {
            count.decrementAndGet();
            bytes.addAndGet(-r.size());
        }
        return r;
    }

    /**
     * The body of a delivered message (its removal is durable): moved to slots/ for reuse (returned, to join the
     * pool once slots/ is synced), or deleted (null). Its content is stale: the checkpoint is past it.
     */
    Slot recycleOrDelete(Path body) throws IOException {
        if (hasRoom()) {
            try {
                long size = Files.size(body);
                if (size <= MAX_SIZE) {
                    Path r = newName();
                    DurableFiles.rename(body, r);
                    return new Slot(r, size);
                }
            } catch (NoSuchFileException e) {
                return null;
            }
        }
        Files.deleteIfExists(body);
        return null;
    }

    /** Deletes every free slot (space kept only for speed goes before mail is refused); returns how many. */
    int drop() {
        int n = 0;
        Slot r;
        while ((r = poll()) != null) {
            DurableFiles.deleteQuietly(r.path());
            n++;
        }
        if (n > 0) {
            log.info("spool: {} body files kept for reuse deleted to free space", n);
        }
        return n;
    }

    private Path newName() {
        return dir.resolve("n" + names.incrementAndGet());
    }
}
