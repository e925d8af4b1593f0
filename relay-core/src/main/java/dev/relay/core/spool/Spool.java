package dev.relay.core.spool;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.QueueId;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable spool, the one door to it: every byte of durability code in the relay is in this package, and this
 * class only puts its parts together.
 *
 * <p>Layout under the root: {@code lock}; {@code tmp/} (envelope files being written); {@code data/<id>} (message
 * bodies: the message as received, then a trailer, the envelope and a footer, see {@link SpoolFiles});
 * {@code slots/} (files whose names are durable, to commit new messages in, see {@link SlotPool}); the
 * {@code checkpoint} file (see {@link Applier}); one directory per {@link QueueState} holding the messages'
 * entries (see {@link StateDirectories}). A message exists once its entry is in a state directory.
 *
 * <p>The parts: {@link SpoolRecovery} at open; a {@link CommitPath} for {@link #store}, chosen once by whether the
 * file system has hard links ({@link SlotCommit} with its {@link Applier}, else {@link EnvelopeFileCommit});
 * {@link StateDirectories} to read, list and move messages; {@link Remover} for finished ones; the
 * {@link StorageGuard} that refuses mail before the disk is full; {@link DurableFiles} under all of them.
 *
 * <p>Thread-safe: different messages may be stored and moved concurrently; one message is moved by one thread at
 * a time (the queue manager's job).
 */
public final class Spool implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Spool.class);

    private final Path root;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final DurableFiles files = new DurableFiles();
    private final StorageGuard storage;
    private final SlotPool slots;
    private final Applier applier;
    private final StateDirectories states;
    /** The same parts, together: what recovery, the commit path and the remover are made with. */
    private final SpoolParts parts;
    private final CommitPath commit;
    private final Remover remover;
    private final boolean links;
    private final AtomicBoolean open = new AtomicBoolean(true);
    /** Told each commit's latency (see {@link #onCommitLatency}). */
    private volatile LongConsumer commitLatency = nanos -> { };

    private Spool(Path root, FileChannel lockChannel, FileLock lock, SpoolSettings settings,
                  StorageGuard.SpaceProbe probe, LongSupplier nanoTime, boolean useLinks) {
        this.root = root;
        this.lockChannel = lockChannel;
        this.lock = lock;
        Path tmp = root.resolve("tmp");
        Path data = root.resolve("data");
        this.storage = new StorageGuard(tmp, settings.minFreeSpace(), probe, nanoTime);
        this.slots = new SlotPool(root.resolve("slots"), files);
        this.links = useLinks && DurableFiles.hardLinksWork(tmp);
        Path incoming = root.resolve(QueueState.INCOMING.key());
        this.applier = new Applier(files, root.resolve("checkpoint"), data, incoming,
                root.resolve(QueueState.ACTIVE.key()));
        this.states = new StateDirectories(root, files, applier);
        this.parts = new SpoolParts(root, files, slots, applier, states);
        LongConsumer latency = nanos -> commitLatency.accept(nanos);
        this.commit = links ? new SlotCommit(parts, this::storeFailed, latency)
                : new EnvelopeFileCommit(parts, this::storeFailed, latency);
        this.remover = new Remover(parts);
    }

    /**
     * Opens (creating if needed) the spool at {@code root}, takes its lock so no second process can use it, and
     * recovers from a crash ({@link SpoolRecovery}).
     */
    public static Spool open(Path root) throws SpoolException {
        return open(root, SpoolSettings.defaults());
    }

    /** Opens the spool as {@link #open(Path)} does, with the given storage settings. */
    public static Spool open(Path root, SpoolSettings settings) throws SpoolException {
        return open(root, settings, () -> Files.getFileStore(root).getUsableSpace(), System::nanoTime);
    }

    /** For tests: the free space and the time the storage guard sees are injected. */
    static Spool open(Path root, SpoolSettings settings, StorageGuard.SpaceProbe probe, LongSupplier nanoTime)
            throws SpoolException {
        return open(root, settings, probe, nanoTime, true);
    }

    /** For tests: {@code useLinks} false makes the spool write envelope files as on a file system without links. */
    static Spool open(Path root, SpoolSettings settings, StorageGuard.SpaceProbe probe, LongSupplier nanoTime,
                      boolean useLinks) throws SpoolException {
        try {
            DurableFiles.createDirectories(root);
            FileChannel ch = DurableFiles.openPrivate(root.resolve("lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                ch.close();
                throw new SpoolLockedException("spool " + root.toAbsolutePath() + " is in use by another relay process"
                        + " (lock held on " + root.resolve("lock") + "); each relay needs its own spool directory");
            }
            Spool spool = new Spool(root, ch, lock, settings, probe, nanoTime, useLinks);
            try {
                spool.createLayout();
                new SpoolRecovery(spool.parts, spool.links).recover();
            } catch (IOException | RuntimeException e) {
                spool.close();
                throw e;
            }
            return spool;
        } catch (SpoolException e) {
            throw e;
        } catch (IOException e) {
            throw new SpoolException("cannot open spool " + root.toAbsolutePath() + ": " + e, e);
        }
    }

    private void createLayout() throws IOException {
        DurableFiles.createDirectories(root.resolve("tmp"));
        DurableFiles.createDirectories(root.resolve("data"));
        DurableFiles.createDirectories(slots.dir());
        for (QueueState s : QueueState.values()) {
            DurableFiles.createDirectories(states.dir(s));
        }
    }

    public Path root() {
        return root;
    }

    /**
     * Writes the body from {@code body} (read to its end) and the envelope, durably, into incoming/. When this
     * returns the message survives a crash (the caller may answer 250); when it throws, nothing of it is visible.
     *
     * <p>While it is received, a body that tells its {@link ExpectedSize} reserves that many bytes of the free
     * space: a message that would take the free space, less all reservations, below the reserve is refused before
     * anything is written. The reservation goes when the store returns or throws.
     *
     * @return the body size in bytes
     * @throws InsufficientStorageException when free space is below the reserve, the disk is full, or the spool
     *                                      may not be written; nothing is stored and the condition may clear
     */
    public long store(Envelope envelope, InputStream body) throws SpoolException {
        long expected = body instanceof ExpectedSize e ? e.expectedSize() : 0;
        try (StorageGuard.Reservation reservation = admit(envelope, expected)) {
            long size = commit.commit(envelope, body);
            reservation.committed(size);
            return size;
        }
    }

    private StorageGuard.Reservation admit(Envelope envelope, long expected) throws InsufficientStorageException {
        try {
            return storage.admit(envelope.id(), expected);
        } catch (InsufficientStorageException e) {
            if (slots.drop() == 0) { // space kept only for speed goes before mail is refused
                throw e;
            }
            storage.invalidate();
            return storage.admit(envelope.id(), expected);
        }
    }

    /**
     * What a store that failed with {@code e} throws. A failure to read the body is the client's (gone, too large,
     * a line too long) and says nothing of the spool; a failure of the file system is told to the storage guard
     * (which refuses mail until a test write succeeds), and for lack of storage the free slots go.
     */
    private SpoolException storeFailed(Envelope envelope, IOException e) {
        if (e instanceof CommitPath.BodyReadFailure r) {
            return new SpoolException(envelope.id() + ": cannot store message: " + r.getCause(), r.getCause());
        }
        storage.storeFailed(e);
        if (StorageGuard.isStorageShortage(e)) {
            slots.drop(); // the next message may fit where they were
            return new InsufficientStorageException(envelope.id() + ": cannot store message: " + e, e);
        }
        return new SpoolException(envelope.id() + ": cannot store message: " + e, e);
    }

    /**
     * Registers what is told, for every message stored, the time from the end of its body to its durable commit
     * (with hard links: trailer, slot file sync, names linked; without: trailer, file sync, group commit): the
     * spool's part of a client's wait for 250. Must be fast.
     */
    public void onCommitLatency(LongConsumer listener) {
        this.commitLatency = listener;
    }

    /**
     * Registers what is told, for every store that failed on the spool's file system, the reason:
     * {@code no_space}, {@code quota}, {@code read_only}, {@code io_error}, {@code permission_denied} or
     * {@code other}. Must be fast.
     */
    public void onStoreFailure(Consumer<String> listener) {
        storage.onFailure(listener);
    }

    /** Test writes made since the spool was opened (see {@link #storageProblem()}). */
    long writeProbes() {
        return storage.probes();
    }

    /** The number of fsyncs (files and directories) the spool has issued since it was opened. */
    public long fsyncCount() {
        return files.fsyncCount();
    }

    /** What the commit path has done since the spool was opened (see {@link CommitStats}). */
    public CommitStats commitStats() {
        return commit.stats();
    }

    /**
     * Why the spool cannot take new mail now, or empty when it can: a store failed on the file system (full,
     * read-only, I/O error...) and no test write has succeeded since (one runs at most once a second from here,
     * and every 2 s by itself); the spool directory not writable; free space, less what messages being received
     * have reserved, below the reserve. The free space is read at most once a second: cheap enough for a
     * readiness probe.
     */
    public Optional<String> storageProblem() {
        Optional<String> problem = storage.problem();
        if (problem.isPresent() && slots.drop() > 0) { // space kept only for speed goes before mail is refused
            storage.invalidate();
            problem = storage.problem();
        }
        return problem;
    }

    /** Whether new mail can be stored now; see {@link #storageProblem()}. */
    public boolean writable() {
        return storageProblem().isEmpty();
    }

    /** A message as read back: its envelope and the size of its body. */
    public record Stored(Envelope envelope, long bodySize) {}

    /**
     * Reads the envelope of {@code id} in {@code state}. An unreadable or torn envelope, or a body of the wrong
     * size, is moved to corrupt/ (with a log line) and reported as empty; a missing file is empty too.
     */
    public Optional<Stored> load(QueueState state, QueueId id) throws SpoolException {
        return states.load(state, id);
    }

    /**
     * Reads the envelope of {@code id} in {@code state} for display, without side effects: a missing, changing or
     * unreadable file is simply empty (it is never quarantined from here; {@link #load} does that).
     */
    public Optional<Stored> peek(QueueState state, QueueId id) {
        return states.peek(state, id);
    }

    /** The state whose directory holds {@code id}'s envelope, if any (active checked first). */
    public Optional<QueueState> stateOf(QueueId id) {
        return states.stateOf(id);
    }

    /** The size of the file of {@code id} in {@code state} (the body; for corrupt/, the quarantined body), or 0. */
    public long bodySize(QueueState state, QueueId id) {
        return states.bodySize(state, id);
    }

    /** The ids in {@code state}, oldest first (ids are time-ordered). */
    public List<QueueId> list(QueueState state) throws SpoolException {
        return states.list(state);
    }

    /** Moves a message between states without changing its envelope. */
    public void move(QueueId id, QueueState from, QueueState to) throws SpoolException {
        states.move(id, from, to);
    }

    /**
     * Takes back a message left in active/ when its outcome could not be recorded: as recovery at start would, its
     * entry goes back to incoming/, or is dropped from active/ when the message is in another state already (an
     * update that wrote the new envelope but could not remove the old one). Returns the state the message is in
     * now, or empty when it is gone (a removal that went through).
     */
    public Optional<QueueState> releaseActive(QueueId id) throws SpoolException {
        return states.releaseActive(id);
    }

    /**
     * Replaces the envelope (after an attempt, say) and moves it from {@code from} to {@code to} in one step that
     * survives a crash: the new envelope is written and made visible in {@code to} before the old one goes.
     */
    public void update(Envelope envelope, long bodySize, QueueState from, QueueState to) throws SpoolException {
        try {
            states.update(envelope, bodySize, from, to);
        } catch (IOException e) {
            if (StorageGuard.faultReason(e).isPresent()) {
                storage.storeFailed(e); // the disk that keeps outcomes is the one that takes mail
            }
            throw new SpoolException(envelope.id() + ": cannot update envelope: " + e, e);
        }
    }

    /**
     * Removes a finished message: the entry first (the message is then gone), then its body. Concurrent
     * removals from active/ (delivered messages) share one fsync of active/ ({@link Remover}).
     */
    public void remove(QueueId id, QueueState from) throws SpoolException {
        try {
            remover.remove(id, from);
        } catch (IOException e) {
            throw new SpoolException(id + ": cannot remove: " + e, e);
        }
    }

    /**
     * The file that holds {@code id}'s body, which is more than the message (the spool's copy of the envelope
     * follows it): for looking at the file itself; its content is read through {@link #body}.
     */
    public Path bodyPath(QueueId id) {
        return states.bodyPath(id);
    }

    /** The content of the stored message {@code id}, of {@code size} bytes (its {@link Stored#bodySize()}). */
    public Body body(QueueId id, long size) {
        return Body.of(states.bodyPath(id), size);
    }

    /** Free bytes on the spool's file system. */
    public long usableSpace() throws IOException {
        return Files.getFileStore(root).getUsableSpace();
    }

    @Override
    public void close() {
        if (!open.compareAndSet(true, false)) {
            return;
        }
        storage.close();
        remover.close(); // before the applier: its last batch may wait for it
        commit.close();
        applier.close();
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException e) {
            log.warn("cannot release spool lock: {}", e.toString());
        }
    }
}
