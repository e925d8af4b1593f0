package dev.relay.core.spool;

import dev.relay.core.model.QueueId;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Knows whether the spool can take new mail. Three things say no:
 * <ul>
 *   <li>a store of the spool's own failed on the file system (full, over quota, read-only, I/O error, permission
 *       denied): from that moment until a real test write in tmp/ (create, write, fsync, delete) succeeds. A look
 *       at permissions cannot tell: a file system the kernel turned read-only after a disk error still says
 *       "writable", and a full disk with no reserve configured is only seen by writing. The test write runs at
 *       most once per {@link #CACHE_NANOS} when asked (a readiness probe, a store), and every
 *       {@link #PROBE_INTERVAL_MILLIS} by itself while the failure lasts;</li>
 *   <li>tmp/ not writable by its permissions;</li>
 *   <li>free space, less what the messages being received have reserved, below the reserve
 *       ({@code spool.min-free-space}).</li>
 * </ul>
 * The free-space figure is cached for {@link #CACHE_NANOS} so that neither a store nor a readiness probe stats
 * the file system each time; what messages committed since are counted against it until the next look.
 */
final class StorageGuard implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Spool.class);
    static final long CACHE_NANOS = 1_000_000_000L;
    /** How often the test write runs by itself while a store failure lasts. */
    static final long PROBE_INTERVAL_MILLIS = 2_000;
    /** The test write's size: one block, so that a file system with no block left fails it. */
    private static final int PROBE_BYTES = 4096;

    /** The free bytes of the spool's file system. */
    interface SpaceProbe {
        long usableSpace() throws IOException;
    }

    private final Path tmp;
    private final long reserve;
    private final SpaceProbe probe;
    private final LongSupplier nanoTime;
    private volatile Snapshot snapshot;
    /** Bytes reserved by the messages being received now. */
    private final AtomicLong reserved = new AtomicLong();
    /** Bytes of messages committed since the free space was last read. */
    private final AtomicLong committedSinceLook = new AtomicLong();
    /** The store failure that makes the spool refuse mail until a test write succeeds, or null. */
    private volatile Failure failure;
    private final Object probeLock = new Object();
    private final AtomicLong probes = new AtomicLong();
    private volatile Consumer<String> failureListener = reason -> { };
    private Thread prober; // under probeLock
    private volatile boolean closed;

    private record Snapshot(long at, Optional<String> problem, long free) {}

    /** A store failure: its reason (a metric label), what it said, and when the last test write ran. */
    private record Failure(String reason, String detail, long lastProbe) {}

    StorageGuard(Path tmp, long reserve, SpaceProbe probe, LongSupplier nanoTime) {
        this.tmp = tmp;
        this.reserve = reserve;
        this.probe = probe;
        this.nanoTime = nanoTime;
    }

    void onFailure(Consumer<String> listener) {
        this.failureListener = listener;
    }

    /** A message's claim on free space while it is received; {@link #close} gives it back. */
    final class Reservation implements AutoCloseable {
        private final long bytes;
        private boolean released;

        private Reservation(long bytes) {
            this.bytes = bytes;
        }

        /** The message was committed with {@code size} bytes: they count against the free space until it is read. */
        void committed(long size) {
            committedSinceLook.addAndGet(size);
        }

        @Override
        public void close() {
            if (!released) {
                released = true;
                reserved.addAndGet(-bytes);
            }
        }
    }

    /**
     * Admits a message that may need {@code expected} bytes: refuses it when new mail must be refused, or when its
     * reservation would take the free space below the reserve; else reserves them until the returned reservation is
     * closed.
     */
    Reservation admit(QueueId id, long expected) throws InsufficientStorageException {
        Optional<String> p = problem();
        if (p.isPresent()) {
            throw new InsufficientStorageException(id + ": not stored: " + p.get());
        }
        long bytes = Math.max(0, expected);
        long nowReserved = reserved.addAndGet(bytes);
        Reservation r = new Reservation(bytes);
        if (reserve > 0 && bytes > 0) {
            Optional<String> short_ = belowReserve(snapshot(), nowReserved, bytes);
            if (short_.isPresent()) {
                r.close();
                throw new InsufficientStorageException(id + ": not stored: " + short_.get());
            }
        }
        return r;
    }

    /** Why the spool cannot take new mail now, or empty when it can. */
    Optional<String> problem() {
        Failure f = failure;
        if (f != null) {
            probeIfDue();
            f = failure;
            if (f != null) {
                return Optional.of("a store failed: " + f.detail() + " (refusing mail until a test write in "
                        + tmp + " succeeds)");
            }
        }
        Snapshot s = snapshot();
        if (s.problem().isPresent()) {
            return s.problem();
        }
        return reserve == 0 ? Optional.empty() : belowReserve(s, reserved.get(), 0);
    }

    private Snapshot snapshot() {
        Snapshot s = snapshot;
        long now = nanoTime.getAsLong();
        if (s == null || now - s.at() >= CACHE_NANOS) {
            long committed = committedSinceLook.get();
            s = look(now);
            committedSinceLook.addAndGet(-committed); // the fresh figure has them
            snapshot = s;
        }
        return s;
    }

    /** Whether the free space less {@code reservedNow} (of which {@code own} for the message asking) is short. */
    private Optional<String> belowReserve(Snapshot s, long reservedNow, long own) {
        if (reserve == 0 || s.free() < 0) {
            return Optional.empty();
        }
        long available = s.free() - reservedNow - committedSinceLook.get();
        if (available >= reserve) {
            return Optional.empty();
        }
        return Optional.of("free space below reserve: " + mib(s.free()) + " free, "
                + (reservedNow - own > 0 ? mib(reservedNow - own) + " reserved for messages being received, " : "")
                + (own > 0 ? mib(own) + " for this one, " : "")
                + "spool.min-free-space is " + mib(reserve));
    }

    /** Forget the cached figures (after a store failed for lack of storage). */
    void invalidate() {
        snapshot = null;
    }

    private Snapshot look(long now) {
        if (!Files.isWritable(tmp)) {
            return new Snapshot(now, Optional.of("spool directory " + tmp.getParent() + " is not writable"), -1);
        }
        if (reserve == 0) {
            return new Snapshot(now, Optional.empty(), -1);
        }
        try {
            return new Snapshot(now, Optional.empty(), probe.usableSpace());
        } catch (IOException e) {
            return new Snapshot(now, Optional.of("cannot read the spool's free space: " + e), -1);
        }
    }

    /**
     * A store (or another write of the spool's own) failed with {@code e} on the file system. Counted by reason;
     * a fault of the storage (see {@link #faultReason}) makes the spool refuse mail until a test write succeeds,
     * logged once at ERROR when it starts, not per message.
     */
    void storeFailed(Throwable e) {
        Optional<String> fault = faultReason(e);
        failureListener.accept(fault.orElse("other"));
        invalidate();
        if (fault.isEmpty()) {
            return;
        }
        synchronized (probeLock) {
            boolean first = failure == null;
            failure = new Failure(fault.get(), String.valueOf(e.getMessage()), nanoTime.getAsLong());
            if (first) {
                log.error("spool {}: a store failed on the file system ({}): {}; new mail is refused (4xx) and "
                        + "/readyz is unready until a test write succeeds (tried every {} s)", tmp.getParent(),
                        fault.get(), e.toString(), PROBE_INTERVAL_MILLIS / 1000);
                startProber();
            }
        }
    }

    /** Runs the test write if a failure lasts and the last one is at least {@link #CACHE_NANOS} old. */
    private void probeIfDue() {
        synchronized (probeLock) {
            Failure f = failure;
            long now = nanoTime.getAsLong();
            if (f == null || now - f.lastProbe() < CACHE_NANOS) {
                return;
            }
            probes.incrementAndGet();
            try {
                testWrite();
                failure = null;
                invalidate();
                log.info("spool {}: test write succeeded after a failed store ({}); taking mail again",
                        tmp.getParent(), f.reason());
            } catch (IOException | RuntimeException e) {
                failure = new Failure(f.reason(), f.detail(), now);
                log.debug("spool {}: test write failed: {}", tmp.getParent(), e.toString());
            }
        }
    }

    /** Create, write a block, fsync, delete: what a store does, on a small scale. */
    private void testWrite() throws IOException {
        Path p = tmp.resolve("write-probe");
        try {
            try (FileChannel ch = DurableFiles.openPrivate(p, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.allocate(PROBE_BYTES);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
        } finally {
            Files.deleteIfExists(p);
        }
    }

    /** While a failure lasts: the test write every {@link #PROBE_INTERVAL_MILLIS}. Holds probeLock. */
    private void startProber() {
        if (prober != null && prober.isAlive()) {
            return;
        }
        prober = Thread.ofVirtual().name("relay-spool-probe").start(() -> {
            while (!closed && failure != null) {
                try {
                    Thread.sleep(PROBE_INTERVAL_MILLIS);
                } catch (InterruptedException e) {
                    return;
                }
                probeIfDue();
            }
        });
    }

    /** Test writes made so far. */
    long probes() {
        return probes.get();
    }

    @Override
    public void close() {
        closed = true;
        synchronized (probeLock) {
            if (prober != null) {
                prober.interrupt();
            }
        }
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024.0));
    }

    /**
     * The failure of the storage itself that {@code e} reports, as a metric label: {@code no_space},
     * {@code quota}, {@code read_only}, {@code io_error}, {@code permission_denied}; empty for anything else.
     */
    static Optional<String> faultReason(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof AccessDeniedException) {
                return Optional.of("permission_denied");
            }
            String text = t instanceof FileSystemException fse && fse.getReason() != null ? fse.getReason()
                    : t.getMessage();
            if (text == null) {
                continue;
            }
            if (text.contains("No space left on device")) {
                return Optional.of("no_space");
            }
            if (text.contains("Disk quota exceeded")) {
                return Optional.of("quota");
            }
            if (text.contains("Read-only file system")) {
                return Optional.of("read_only");
            }
            if (text.contains("Input/output error")) {
                return Optional.of("io_error");
            }
            if (text.contains("Permission denied")) {
                return Optional.of("permission_denied");
            }
        }
        return Optional.empty();
    }

    /**
     * Whether {@code e} says the file system is full, over quota, read-only or denies us access: conditions an
     * operator fixes without restarting the relay, answered with 452 rather than 451.
     */
    static boolean isStorageShortage(Throwable e) {
        return faultReason(e).filter(r -> !r.equals("io_error")).isPresent();
    }
}
