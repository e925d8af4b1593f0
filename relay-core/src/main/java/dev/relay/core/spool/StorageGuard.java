package dev.relay.core.spool;

import dev.relay.core.model.QueueId;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * Knows whether the spool can take new mail: free space above the reserve and a writable tmp/ directory. The
 * figures are cached for {@link #CACHE_NANOS} so that neither a store nor a readiness probe stats the file system
 * each time; a store that hits a full disk drops the cache so the next look is fresh.
 */
final class StorageGuard {
    static final long CACHE_NANOS = 1_000_000_000L;

    /** The free bytes of the spool's file system. */
    interface SpaceProbe {
        long usableSpace() throws IOException;
    }

    private final Path tmp;
    private final long reserve;
    private final SpaceProbe probe;
    private final LongSupplier nanoTime;
    private volatile Snapshot snapshot;

    private record Snapshot(long at, Optional<String> problem) {}

    StorageGuard(Path tmp, long reserve, SpaceProbe probe, LongSupplier nanoTime) {
        this.tmp = tmp;
        this.reserve = reserve;
        this.probe = probe;
        this.nanoTime = nanoTime;
    }

    /** Throws when new mail must be refused for lack of storage. */
    void requireSpace(QueueId id) throws InsufficientStorageException {
        Optional<String> problem = problem();
        if (problem.isPresent()) {
            throw new InsufficientStorageException(id + ": not stored: " + problem.get());
        }
    }

    /** Why the spool cannot take new mail now, or empty when it can. */
    Optional<String> problem() {
        Snapshot s = snapshot;
        long now = nanoTime.getAsLong();
        if (s == null || now - s.at() >= CACHE_NANOS) {
            s = new Snapshot(now, look());
            snapshot = s;
        }
        return s.problem();
    }

    /** Forget the cached figures (after a store failed for lack of storage). */
    void invalidate() {
        snapshot = null;
    }

    private Optional<String> look() {
        if (!Files.isWritable(tmp)) {
            return Optional.of("spool directory " + tmp.getParent() + " is not writable");
        }
        if (reserve == 0) {
            return Optional.empty();
        }
        try {
            long free = probe.usableSpace();
            if (free < reserve) {
                return Optional.of("free space below reserve: " + mib(free) + " free, spool.min-free-space is "
                        + mib(reserve));
            }
            return Optional.empty();
        } catch (IOException e) {
            return Optional.of("cannot read the spool's free space: " + e);
        }
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024.0));
    }

    /**
     * Whether {@code e} says the file system is full, over quota, read-only or denies us access: conditions an
     * operator fixes without restarting the relay, answered with 452 rather than 451.
     */
    static boolean isStorageShortage(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof AccessDeniedException) {
                return true;
            }
            String text = t instanceof FileSystemException fse && fse.getReason() != null ? fse.getReason()
                    : t.getMessage();
            if (text != null && (text.contains("No space left on device") || text.contains("Disk quota exceeded")
                    || text.contains("Read-only file system") || text.contains("Permission denied"))) {
                return true;
            }
        }
        return false;
    }
}
