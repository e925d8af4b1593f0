package dev.relay.core.spool;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.QueueId;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable spool: every byte of durability code in the relay lives here.
 *
 * <p>Layout under the root: {@code tmp/} (envelope files being written), {@code data/<id>} (message bodies,
 * written once), {@code slots/} (files whose names are durable, to commit new messages in: new, or the body files of
 * delivered messages kept for reuse), the {@code checkpoint} file, and one directory per {@link QueueState} holding
 * the small envelope files. A message exists once its envelope is in a state directory; every state change is an
 * atomic rename of the envelope.
 *
 * <p>Commit ({@link #store}), with hard links: the body, then a copy of the envelope with the message's sequence
 * number and a CRC (the trailer), go into a free slot, and one fdatasync makes the message durable; the caller may
 * answer 250 then. The slot's name was made durable before (when the file joined the pool), so no directory fsync
 * is on that path: a commit is one flush of a file whose blocks exist, ~0.1 to 0.2 ms on the benchmark VM, where a
 * link plus a directory fsync cost as much again (and more on a journaled ext4). The message then gets its names
 * at once, data/{@code <id>} and an entry in incoming/ (links to the slot's file: the trailer is its envelope), and
 * the queue manager may deliver it. The applier thread makes those names durable for all messages committed
 * meanwhile (fsync of data/, incoming/, active/), writes the checkpoint past them and removes their slot names.
 * Recovery takes a slot whose trailer is whole and at or past the checkpoint for a message that may have lost its
 * names, and gives them back ({@link #recoverSlots}); nothing removes a message's entry before the checkpoint is
 * past it ({@link #awaitApplied}), so a delivered message never comes back from its slot. A crash at any point
 * leaves either a visible, whole message or nothing visible. Reusing files matters twice: an fsync of a file whose
 * blocks exist is much cheaper than one of a new file, and allocating an inode on ext4 without a journal scans past
 * recently deleted ones (a third of the relay's CPU samples under load). The first attempt that changes the
 * envelope writes an envelope file of its own (fsynced) into the next state.
 *
 * <p>Without hard links: the body goes to data/ and an envelope file to tmp/, the body is fsynced; then the
 * {@link GroupCommitter} takes the messages of all sessions that are ready, fsyncs data/, renames their envelope
 * files into incoming/ and fsyncs incoming/ once. The envelope file is written without an fsync of its own: one torn
 * by a crash is read from the body's trailer instead.
 *
 * <p>Body file layout: the message as received, then the envelope as encoded by {@link EnvelopeCodec}, then a
 * footer ({@link SpoolFiles}: 32 bytes with the sequence number and CRC for a file committed in a slot, else 16
 * bytes). The envelope's {@code size}
 * says where the message ends; readers of the body read that many bytes ({@link #bodyLength}). Files written
 * before the trailer existed have none and are read the same way.
 *
 * <p>Moving a message into active/ is not fsynced: after a crash, recovery puts active/ back into incoming/
 * anyway, so a lost rename only means the message is picked from where it was.
 *
 * <p>Thread-safe: different messages may be stored and moved concurrently; one message is moved by one thread at
 * a time (the queue manager's job).
 */
public final class Spool implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Spool.class);
    private static final int COPY_BUFFER = 64 * 1024;
    private static final int FIRST_COPY_BUFFER = 8 * 1024;
    /** How long the committer waits for sessions that are still syncing their files to join its batch. */
    private static final long MAX_COMMIT_DELAY_NANOS = 2_000_000L;
    private static final int MAX_BATCH = 256;
    /**
     * The remover rests this long after each batch so that removals share the fsync of active/ (and the applier's
     * round they wait for) even at one connection, where deliveries finish one by one. Nothing waits on a removal
     * but the message's own outcome: the queue gives the delivery's slot back before it. 50 ms against 5 ms, at one
     * connection on this machine's disk, alternating in one JVM: faster in seven pairs of eight (by 1-14%), the
     * session's commit mean lower in six: fewer journal commits compete with its fdatasync (docs/performance.md).
     */
    private static final long REMOVE_PAUSE_NANOS = 50_000_000L;
    /**
     * The applier gathers this long before a round (unless someone waits for it, a removal most often): at one
     * connection a round's four flushes then serve many messages, not a few each.
     */
    private static final long APPLY_PAUSE_NANOS = 50_000_000L;
    /** Slot files made at once when the pool is empty. */
    private static final int NEW_SLOTS = 16;
    /**
     * At most this many body files wait for reuse, each at most RECYCLE_MAX_SIZE bytes and RECYCLE_MAX_BYTES
     * together. Enough for the backlog of a burst: a file deleted because the pool was full is a recently deleted
     * inode that makes the next burst's file creations slower (see {@link #recycled}).
     */
    private static final int RECYCLE_MAX = 8192;
    private static final long RECYCLE_MAX_SIZE = 256 * 1024;
    private static final long RECYCLE_MAX_BYTES = 64L * 1024 * 1024;

    private final Path root;
    private final Path tmp;
    private final Path data;
    private final Map<QueueState, Path> states = new EnumMap<>(QueueState.class);
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final AtomicLong fsyncs = new AtomicLong();
    private final StorageGuard storage;
    private final GroupCommitter committer;
    /**
     * The free slots: files in slots/ whose names are durable and whose content is stale (below the checkpoint),
     * mostly body files of delivered messages kept to be overwritten by new ones: creating a file allocates an
     * inode, and on ext4 without a journal that scan skips every recently deleted inode, which was a quarter of the
     * relay's CPU under load; an fsync of a file whose blocks exist is also much cheaper than one of a new file
     * (0.2 ms against 1.4 ms on the benchmark VM). Small files only, a bounded number; the last one freed is used
     * first (its pages are the likeliest still cached).
     */
    private final Path slots;
    private final java.util.concurrent.ConcurrentLinkedDeque<Recycled> recycled = new java.util.concurrent.ConcurrentLinkedDeque<>();
    private final java.util.concurrent.atomic.AtomicInteger recycledCount = new java.util.concurrent.atomic.AtomicInteger();
    private final AtomicLong recycledBytes = new AtomicLong();
    private final AtomicLong slotNames = new AtomicLong();
    /** Holds the checkpoint (see {@link SpoolFiles}); written by the applier only. */
    private final Path checkpointFile;
    private FileChannel checkpointChannel;
    /** Sequence numbers: the next one to give, and those given to commits not yet linked (under seqLock). */
    private final Object seqLock = new Object();
    private long nextSeq;
    private final java.util.TreeSet<Long> inFlight = new java.util.TreeSet<>();
    /** Messages committed in a slot and linked, not yet applied: the applier's work. */
    private final java.util.concurrent.ConcurrentLinkedQueue<Linked> linked = new java.util.concurrent.ConcurrentLinkedQueue<>();
    /** Names of messages committed in a slot and their sequence numbers, until the checkpoint passes them. */
    private final java.util.concurrent.ConcurrentHashMap<String, Long> unapplied = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.locks.ReentrantLock applyLock = new java.util.concurrent.locks.ReentrantLock();
    private final java.util.concurrent.locks.Condition applyWork = applyLock.newCondition();
    private final java.util.concurrent.locks.Condition appliedCond = applyLock.newCondition();
    /** Every message with a sequence number below it is durably in the directories (see {@link #apply}). */
    private volatile long checkpoint;
    private boolean applyUrgent; // under applyLock
    /** The applier waits for work (not gathering, not writing): only then does a new message wake it. */
    private volatile boolean applierIdle;
    private boolean applyClosed; // under applyLock
    private final AtomicLong applyRounds = new AtomicLong();
    private final java.util.concurrent.atomic.AtomicBoolean open = new java.util.concurrent.atomic.AtomicBoolean(true);
    private final AtomicLong appliedMessages = new AtomicLong();
    private Thread applier;
    /** Whether the file system has hard links: then a new message's incoming/ entry is a link to its body file. */
    private final boolean links;
    /** Removals of delivered messages from active/: they share the fsync of active/ the same way. */
    private final GroupCommitter remover;
    /** Told each commit's latency in nanoseconds (see {@link #onCommitLatency}). */
    private volatile java.util.function.LongConsumer commitLatency = nanos -> { };

    private Spool(Path root, FileChannel lockChannel, FileLock lock, SpoolSettings settings,
                  StorageGuard.SpaceProbe probe, LongSupplier nanoTime, boolean useLinks) {
        this.root = root;
        this.tmp = root.resolve("tmp");
        this.data = root.resolve("data");
        this.slots = root.resolve("slots");
        this.checkpointFile = root.resolve("checkpoint");
        for (QueueState s : QueueState.values()) {
            states.put(s, root.resolve(s.key()));
        }
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.storage = new StorageGuard(tmp, settings.minFreeSpace(), probe, nanoTime);
        this.committer = new GroupCommitter(this::commitBatch, MAX_COMMIT_DELAY_NANOS, MAX_BATCH);
        this.remover = new GroupCommitter("relay-spool-remove", this::removeBatch, 0, MAX_BATCH, REMOVE_PAUSE_NANOS);
        this.links = useLinks && hardLinksWork(tmp);
    }

    /**
     * Opens (creating if needed) the spool at {@code root}, takes its lock so no second process can use it, and
     * recovers from a crash: files in tmp/ are removed, active/ goes back to incoming/, bodies without an envelope
     * (never acknowledged) are removed.
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
            createDirectories(root);
            FileChannel ch = openPrivate(root.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                ch.close();
                throw new SpoolException("spool " + root.toAbsolutePath() + " is in use by another relay process"
                        + " (lock held on " + root.resolve("lock") + "); each relay needs its own spool directory");
            }
            Spool spool = new Spool(root, ch, lock, settings, probe, nanoTime, useLinks);
            try {
                spool.createLayout();
                spool.recover();
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

    /** Tries a hard link in {@code dir} (created already or not: then false, and envelope files are written). */
    private static boolean hardLinksWork(Path dir) {
        Path a = dir.resolve("link-probe");
        Path b = dir.resolve("link-probe.link");
        try {
            createDirectories(dir);
            Files.deleteIfExists(b);
            Files.deleteIfExists(a);
            Files.createFile(a, PRIVATE_FILE);
            Files.createLink(b, a);
            return true;
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            log.info("spool {}: no hard links ({}); new messages get an envelope file", dir.getParent(), e.toString());
            return false;
        } finally {
            deleteQuietly(b);
            deleteQuietly(a);
        }
    }

    private void createLayout() throws IOException {
        createDirectories(tmp);
        createDirectories(data);
        createDirectories(slots);
        for (Path p : states.values()) {
            createDirectories(p);
        }
    }

    /**
     * Mail is private whatever the process umask: every directory the spool makes is created 0700 and every file
     * 0600 (given at creation, so there is no moment in which another user could open it; a hard link or a rename
     * keeps the file's mode).
     */
    private static final java.nio.file.attribute.FileAttribute<?>[] PRIVATE_DIR = posix("rwx------");
    private static final java.nio.file.attribute.FileAttribute<?>[] PRIVATE_FILE = posix("rw-------");

    private static java.nio.file.attribute.FileAttribute<?>[] posix(String perms) {
        if (!java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            return new java.nio.file.attribute.FileAttribute<?>[0];
        }
        return new java.nio.file.attribute.FileAttribute<?>[] {java.nio.file.attribute.PosixFilePermissions
                .asFileAttribute(java.nio.file.attribute.PosixFilePermissions.fromString(perms))};
    }

    private static void createDirectories(Path dir) throws IOException {
        Files.createDirectories(dir, PRIVATE_DIR);
    }

    /** Opens {@code p}, created 0600 if the options create it. */
    static FileChannel openPrivate(Path p, java.nio.file.OpenOption... options) throws IOException {
        return FileChannel.open(p, Set.of(options), PRIVATE_FILE);
    }

    private void recover() throws IOException {
        int removedTmp = 0, requeued = 0, orphans = 0;
        Path oldPool = root.resolve("recycle"); // the files kept for reuse by releases before slots
        if (Files.isDirectory(oldPool)) {
            for (Path p : entries(oldPool)) {
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(oldPool);
        }
        for (Path p : entries(tmp)) {
            Files.deleteIfExists(p);
            removedTmp++;
        }
        Set<String> known = new HashSet<>();
        for (QueueState s : List.of(QueueState.INCOMING, QueueState.DEFERRED, QueueState.HOLD, QueueState.FAILED,
                QueueState.CORRUPT)) {
            for (Path p : entries(states.get(s))) {
                known.add(p.getFileName().toString());
            }
        }
        for (Path p : entries(states.get(QueueState.ACTIVE))) {
            String name = p.getFileName().toString();
            if (known.contains(name)) {
                // a crash between writing the new state's envelope and removing the active one
                Files.delete(p);
            } else {
                rename(p, states.get(QueueState.INCOMING).resolve(name));
                known.add(name);
                requeued++;
            }
        }
        int restored = recoverSlots(known);
        int relinked = 0;
        for (QueueState s : List.of(QueueState.INCOMING, QueueState.HOLD)) {
            for (Path p : entries(states.get(s))) {
                Path body = data.resolve(p.getFileName().toString());
                if (!Files.exists(body) && SpoolFiles.readStateFile(p) == null) {
                    // a committed message whose body name in data/ was not yet durable (data/ is not fsynced at
                    // commit when the entry is a link): the entry is the body file, so its name comes back
                    Files.createLink(body, p);
                    relinked++;
                }
            }
        }
        for (Path p : entries(data)) {
            if (!known.contains(p.getFileName().toString())) {
                // its envelope was never made visible, so the client never got 250
                Files.delete(p);
                orphans++;
            }
        }
        syncDirectory(states.get(QueueState.INCOMING));
        syncDirectory(data);
        syncDirectory(slots);
        if (links) { // everything recovered is durable in the directories now: no slot content is live
            checkpointChannel = openPrivate(checkpointFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            long seq;
            synchronized (seqLock) {
                seq = nextSeq;
            }
            writeCheckpoint(seq);
            syncDirectory(root);
            applier = Thread.ofPlatform().name("relay-spool-apply").daemon().start(this::applyLoop);
        }
        if (removedTmp + requeued + orphans + relinked + restored > 0) {
            log.info("spool recovered: {} unfinished temp files removed, {} active messages back to incoming, "
                    + "{} unacknowledged bodies removed, {} body names restored, {} messages restored from their "
                    + "slots", removedTmp, requeued, orphans, relinked, restored);
        }
    }

    /**
     * The slots at open: a slot whose content is whole and at or past the checkpoint holds a message that was
     * acknowledged but whose names in the directories may not have been durable; it gets its data/ name back, and
     * an entry in incoming/ unless it is in some state already. Any other slot is stale: free for reuse, unless the
     * file also has another name (a message's, whose slot name was being removed), then only the slot name goes.
     *
     * @return the number of messages put back into incoming/
     */
    private int recoverSlots(Set<String> known) throws IOException {
        Optional<Long> saved = links ? SpoolFiles.readCheckpoint(checkpointFile) : Optional.empty();
        if (links && saved.isEmpty() && Files.exists(checkpointFile)) {
            log.warn("spool {}: checkpoint file unreadable; every whole slot is taken as a message (duplicates "
                    + "possible, no loss)", root);
        }
        long cp = links ? saved.orElse(0L) : Long.MAX_VALUE;
        long maxSeq = -1;
        int restored = 0;
        for (Path p : entries(slots)) {
            String file = p.getFileName().toString();
            if (file.startsWith("n")) {
                try {
                    slotNames.accumulateAndGet(Long.parseLong(file.substring(1)), Math::max);
                } catch (NumberFormatException ignored) {
                    // not a name the spool gives; treated like any other slot
                }
            }
            Optional<SpoolFiles.SlotContent> c = links ? SpoolFiles.readSlot(p) : Optional.empty();
            if (c.isPresent()) {
                maxSeq = Math.max(maxSeq, c.get().seq());
            }
            if (c.isPresent() && c.get().seq() >= cp) {
                String name = c.get().decoded().envelope().id().value();
                Path body = data.resolve(name);
                if (!Files.exists(body)) {
                    Files.createLink(body, p);
                } else if (!isSameFile(body, p)) {
                    log.warn("{}: slot {} holds a message whose data/ file is another file; data/ kept", name, file);
                }
                if (known.add(name)) {
                    Files.createLink(states.get(QueueState.INCOMING).resolve(name), p);
                    restored++;
                }
                Files.delete(p);
            } else if (linkCount(p) != 1) {
                Files.delete(p); // its file is a message's under another name: not free
            } else if (recycledCount.get() < RECYCLE_MAX && recycledBytes.get() < RECYCLE_MAX_BYTES) {
                offerRecycled(new Recycled(p, Files.size(p)), true);
            } else {
                Files.delete(p);
            }
        }
        synchronized (seqLock) {
            nextSeq = Math.max(maxSeq + 1, cp == Long.MAX_VALUE ? 0 : cp);
        }
        return restored;
    }

    /** The number of names {@code p} has, or -1 when the file system does not say. */
    private static int linkCount(Path p) {
        try {
            return ((Number) Files.getAttribute(p, "unix:nlink")).intValue();
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            return -1;
        }
    }

    public Path root() {
        return root;
    }

    /**
     * Writes the body from {@code body} (read to its end) and the envelope, durably, into incoming/. When this
     * returns the message survives a crash; when it throws, nothing of it is visible. Messages share the directory
     * fsyncs: with hard links the applier's, after the commit ({@link #storeInSlot}); without, the group commit's,
     * before it ({@link #storeWithEnvelopeFile}).
     *
     * @return the body size in bytes
     * <p>While it is received, a body that tells its {@link ExpectedSize} reserves that many bytes of the free
     * space: a message that would take the free space, less all reservations, below the reserve is refused before
     * anything is written. The reservation goes when the store returns or throws.
     *
     * @throws InsufficientStorageException when free space is below the reserve, the disk is full, or the spool
     *                                      may not be written; nothing is stored and the condition may clear
     */
    public long store(Envelope envelope, InputStream body) throws SpoolException {
        long expected = body instanceof ExpectedSize e ? e.expectedSize() : 0;
        try (StorageGuard.Reservation reservation = admit(envelope, expected)) {
            long size = links ? storeInSlot(envelope, body) : storeWithEnvelopeFile(envelope, body);
            reservation.committed(size);
            return size;
        }
    }

    private StorageGuard.Reservation admit(Envelope envelope, long expected) throws InsufficientStorageException {
        try {
            return storage.admit(envelope.id(), expected);
        } catch (InsufficientStorageException e) {
            if (dropRecycled() == 0) { // space kept only for speed goes before mail is refused
                throw e;
            }
            storage.invalidate();
            return storage.admit(envelope.id(), expected);
        }
    }

    /**
     * {@link #store} with hard links: the commit is one fdatasync of a slot file, a file whose name is already
     * durable. The body and a trailer (envelope, sequence number, CRC) go into the slot and are synced; that is the
     * commit point. Then the message gets its names, data/ and incoming/ (links to the slot's file, not synced),
     * and the caller may answer 250. The {@link #applyLoop applier} makes those names durable and moves the
     * checkpoint past the message; until then a crash finds it in its slot ({@link #recoverSlots}).
     */
    private long storeInSlot(Envelope envelope, InputStream body) throws SpoolException {
        String name = envelope.id().value();
        Path bodyFile = data.resolve(name);
        Path entry = states.get(QueueState.INCOMING).resolve(name);
        Recycled slot = null;
        long seq = -1;
        boolean linkedBody = false;
        boolean committed = false;
        try {
            slot = takeSlot();
            synchronized (seqLock) {
                seq = nextSeq++;
                inFlight.add(seq);
            }
            long size;
            long bodyEnd;
            try (FileChannel ch = FileChannel.open(slot.path(), StandardOpenOption.WRITE)) {
                java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
                size = copy(body, ch, crc);
                bodyEnd = System.nanoTime();
                byte[] envelopeBytes = EnvelopeCodec.encode(envelope, size);
                crc.update(envelopeBytes);
                writeFully(ch, ByteBuffer.wrap(envelopeBytes));
                writeFully(ch, SpoolFiles.slotFooter(seq, crc.getValue(), envelopeBytes.length));
                long end = ch.position();
                if (ch.size() > end) {
                    ch.truncate(end); // a reused file was longer
                }
                forceData(ch); // the commit point: the slot's name is durable already
            }
            Files.createLink(bodyFile, slot.path());
            linkedBody = true;
            Files.createLink(entry, slot.path());
            unapplied.put(name, seq);
            linked.add(new Linked(name, slot.path()));
            committed = true;
            commitLatency.accept(System.nanoTime() - bodyEnd);
            return size;
        } catch (IOException e) {
            throw storeFailed(envelope, e);
        } finally {
            if (seq >= 0) {
                synchronized (seqLock) {
                    inFlight.remove(seq); // after the message is in linked: see apply()
                }
            }
            if (committed) {
                if (applierIdle) { // else it is gathering, and takes this message too: no wake-up per message
                    wakeApplier();
                }
            } else {
                if (linkedBody) {
                    deleteQuietly(bodyFile);
                }
                if (slot != null) {
                    releaseSlot(slot);
                }
            }
        }
    }

    /**
     * What a store that failed with {@code e} throws. A failure to read the body is the client's (gone, too large,
     * a line too long) and says nothing of the spool; a failure of the file system is told to the storage guard
     * (which refuses mail until a test write succeeds), and for lack of storage the files kept for reuse go.
     */
    private SpoolException storeFailed(Envelope envelope, IOException e) {
        if (e instanceof BodyReadFailure r) {
            return new SpoolException(envelope.id() + ": cannot store message: " + r.getCause(), r.getCause());
        }
        storage.storeFailed(e);
        if (StorageGuard.isStorageShortage(e)) {
            dropRecycled(); // the next message may fit where they were
            return new InsufficientStorageException(envelope.id() + ": cannot store message: " + e, e);
        }
        return new SpoolException(envelope.id() + ": cannot store message: " + e, e);
    }

    /** The body could not be read (its cause): the client's failure, not the spool's. */
    private static final class BodyReadFailure extends IOException {
        BodyReadFailure(IOException cause) {
            super(cause);
        }
    }

    /**
     * A slot: a free one from the pool, else a new file whose name is made durable first (with a few more for the
     * pool, so that a burst on an empty pool pays one directory fsync per {@code NEW_SLOTS} messages).
     */
    private Recycled takeSlot() throws IOException {
        Recycled r = pollRecycled();
        if (r != null) {
            return r;
        }
        int n = recycledCount.get() < RECYCLE_MAX - NEW_SLOTS ? NEW_SLOTS : 1;
        List<Path> made = new ArrayList<>(n);
        try {
            for (int i = 0; i < n; i++) {
                Path p = slots.resolve("n" + slotNames.incrementAndGet());
                Files.createFile(p, PRIVATE_FILE);
                made.add(p);
            }
            syncDirectory(slots);
        } catch (IOException e) {
            made.forEach(Spool::deleteQuietly);
            throw e;
        }
        for (Path p : made.subList(1, n)) {
            offerRecycled(new Recycled(p, 0), false); // behind the reused ones, whose pages are cached
        }
        return new Recycled(made.get(0), 0);
    }

    /**
     * A slot whose commit failed goes back to the pool emptied (a crash before the truncation reaches the disk
     * may still find its message: a duplicate of one the client was told failed, never a loss).
     */
    private void releaseSlot(Recycled slot) {
        try (FileChannel ch = FileChannel.open(slot.path(), StandardOpenOption.WRITE)) {
            ch.truncate(0);
        } catch (IOException e) {
            deleteQuietly(slot.path());
            return;
        }
        offerRecycled(new Recycled(slot.path(), 0), true);
    }

    /** A message committed in a slot and given its names, waiting for the applier. */
    private record Linked(String name, Path slot) {}

    private void wakeApplier() {
        applyLock.lock();
        try {
            applyWork.signal();
        } finally {
            applyLock.unlock();
        }
    }

    /**
     * The applier: every {@code APPLY_PAUSE_NANOS} while there is work (at once when someone waits for it), it
     * makes the names given to the messages committed in slots durable, then moves the checkpoint past them.
     */
    private void applyLoop() {
        while (true) {
            applyLock.lock();
            try {
                applierIdle = true; // before looking at linked: a store that adds after the look sees it
                while (linked.isEmpty() && !applyClosed && !applyUrgent) {
                    applyWork.awaitUninterruptibly();
                }
                applierIdle = false;
                if (applyClosed && linked.isEmpty()) {
                    appliedCond.signalAll();
                    return;
                }
                long deadline = System.nanoTime() + APPLY_PAUSE_NANOS;
                while (!applyUrgent && !applyClosed) { // gather more: one round of fsyncs for all of them
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        break;
                    }
                    try {
                        applyWork.awaitNanos(left);
                    } catch (InterruptedException e) {
                        break;
                    }
                }
                applyUrgent = false;
            } finally {
                applyLock.unlock();
            }
            try {
                apply();
            } catch (IOException | RuntimeException e) {
                applyLock.lock();
                try {
                    if (applyClosed) { // a closed spool on a broken disk: the next open restores them from slots
                        log.warn("spool: closed while new messages' names could not be made durable ({}); they are "
                                + "safe in their slots and restored at the next open", e.toString());
                        appliedCond.signalAll();
                        return;
                    }
                } finally {
                    applyLock.unlock();
                }
                log.error("spool: cannot make new messages' names durable, retrying in 1 s (they are safe in their "
                        + "slots): {}", e.toString());
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000_000L);
            }
        }
    }

    /**
     * One round of the applier. The new checkpoint is the lowest sequence number not yet linked: every message
     * below it has its names already, so the fsyncs that follow make them durable. active/ too: a message may
     * have moved there from incoming/ meanwhile (incoming/ is synced first, so the entry is durable in one of the
     * two). Only then is the checkpoint written, and then the slot names go (a crash that keeps one leaves a file
     * with two names, which recovery tells from a free slot).
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
            syncDirectory(data);
            syncDirectory(states.get(QueueState.INCOMING));
            syncDirectory(states.get(QueueState.ACTIVE));
            writeCheckpoint(next);
        } catch (IOException e) {
            linked.addAll(batch); // next round
            throw e;
        }
        applyLock.lock();
        try {
            checkpoint = next;
            appliedCond.signalAll();
        } finally {
            applyLock.unlock();
        }
        applyRounds.incrementAndGet();
        appliedMessages.addAndGet(batch.size());
        for (Linked done : batch) {
            deleteQuietly(done.slot());
            unapplied.remove(done.name());
        }
    }

    private void writeCheckpoint(long value) throws IOException {
        writeFully(checkpointChannel.position(0), SpoolFiles.checkpoint(value));
        forceData(checkpointChannel);
        checkpoint = value;
    }

    /**
     * Waits until the message {@code name}, if it was committed in a slot, is past the checkpoint: before
     * anything removes its entry (else a crash could find it in its slot and deliver it again) or relies on its
     * data/ name being durable.
     */
    private void awaitApplied(String name) throws IOException {
        Long seq = unapplied.get(name);
        if (seq == null || seq < checkpoint) {
            return;
        }
        applyLock.lock();
        try {
            applyUrgent = true;
            applyWork.signal();
            while (checkpoint <= seq) {
                if (applyClosed && !applier.isAlive()) {
                    throw new IOException("the spool is closed");
                }
                appliedCond.awaitNanos(100_000_000L);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted waiting for the spool", e);
        } finally {
            applyLock.unlock();
        }
    }

    /**
     * {@link #store} without hard links: the body file and an envelope file, synced, then the group commit
     * renames the envelope into incoming/ and syncs it.
     */
    private long storeWithEnvelopeFile(Envelope envelope, InputStream body) throws SpoolException {
        String name = envelope.id().value();
        Path bodyFile = data.resolve(name); // invisible until an entry in incoming/ refers to it
        Path envTmp = tmp.resolve(name + ".env");
        boolean syncing = false;
        boolean committed = false;
        byte[] envelopeBytes;
        try {
            long size;
            long bodyEnd;
            try (FileChannel ch = openBodyFile(bodyFile)) {
                size = copy(body, ch, null);
                bodyEnd = System.nanoTime();
                envelopeBytes = EnvelopeCodec.encode(envelope, size);
                writeFully(ch, ByteBuffer.wrap(envelopeBytes));
                writeFully(ch, SpoolFiles.footer(envelopeBytes.length));
                long end = ch.position();
                if (ch.size() > end) {
                    ch.truncate(end); // a recycled file was longer: its old tail goes before anything can see it
                }
                committer.syncStarted();
                syncing = true;
                // body and trailer on disk before anything points to them: the one file sync per message. fdatasync
                // writes what reading the data back needs (size, block map) and skips what it does not (times):
                // for a recycled file of the same size that is the data blocks alone
                forceData(ch);
            }
            // no fsync of its own: torn by a crash, it is read again from the body's trailer
            writeUnsynced(envTmp, envelopeBytes);
            syncing = false;
            committer.commit(name); // returns once this message's entry in incoming/ is durable
            committed = true;
            commitLatency.accept(System.nanoTime() - bodyEnd);
            return size;
        } catch (IOException e) {
            throw storeFailed(envelope, e);
        } finally {
            if (syncing) {
                committer.syncAbandoned();
            }
            if (!committed) {
                deleteQuietly(envTmp);
                deleteQuietly(bodyFile);
            }
        }
    }

    /**
     * The committer's half of {@link #store}, for a batch whose bodies are durable in data/ under their final
     * names and whose envelopes are durable in tmp/: one fsync of data/, the renames, one fsync of incoming/.
     */
    private void commitBatch(List<GroupCommitter.Pending> batch) {
        try {
            syncDirectory(data); // the bodies' names must be durable before the envelopes that refer to them
        } catch (IOException e) {
            for (GroupCommitter.Pending p : batch) {
                p.fail(e);
            }
            return;
        }
        Path incoming = states.get(QueueState.INCOMING);
        List<GroupCommitter.Pending> renamed = new ArrayList<>(batch.size());
        for (GroupCommitter.Pending p : batch) {
            try {
                rename(tmp.resolve(p.name + ".env"), incoming.resolve(p.name));
                renamed.add(p);
            } catch (IOException e) {
                p.fail(e);
            }
        }
        if (renamed.isEmpty()) {
            return;
        }
        try {
            syncDirectory(incoming); // the commit point of the whole batch: now its messages exist
        } catch (IOException e) {
            // not known to be durable, so not acknowledged: take them back (a crash now may keep some, which
            // is a duplicate for a client that retries, never a loss)
            for (GroupCommitter.Pending p : renamed) {
                deleteQuietly(incoming.resolve(p.name));
                p.fail(e);
            }
            return;
        }
        for (GroupCommitter.Pending p : renamed) {
            p.succeed();
        }
    }

    /**
     * The remover's half of {@link #remove} for delivered messages: their envelopes are deleted from active/; one
     * fsync of active/ makes that durable for the whole batch, and only then do their bodies go (a body deleted
     * first could leave, after a crash, an envelope that refers to nothing).
     */
    private void removeBatch(List<GroupCommitter.Pending> batch) {
        List<GroupCommitter.Pending> removed = new ArrayList<>(batch.size());
        for (GroupCommitter.Pending p : batch) {
            try {
                awaitApplied(p.name); // a message still only safe in its slot would come back from there
                Files.deleteIfExists(states.get(QueueState.ACTIVE).resolve(p.name));
                removed.add(p);
            } catch (IOException e) {
                p.fail(e);
            }
        }
        try {
            syncDirectory(states.get(QueueState.ACTIVE)); // a removed message must not come back after a crash
        } catch (IOException e) {
            for (GroupCommitter.Pending p : removed) {
                p.fail(e); // the body stays; an envelope that is really gone leaves an orphan, removed at start
            }
            return;
        }
        List<Recycled> reusable = new ArrayList<>();
        List<GroupCommitter.Pending> done = new ArrayList<>(removed.size());
        for (GroupCommitter.Pending p : removed) {
            try {
                Recycled r = recycleOrDelete(data.resolve(p.name));
                if (r != null) {
                    reusable.add(r);
                }
                done.add(p);
            } catch (IOException e) {
                p.fail(e);
            }
        }
        if (!reusable.isEmpty()) {
            try {
                syncDirectory(slots); // a slot's name is durable before a message is committed in it
                for (Recycled r : reusable) {
                    offerRecycled(r, true);
                }
            } catch (IOException e) {
                for (Recycled r : reusable) {
                    deleteQuietly(r.path());
                }
            }
        }
        for (GroupCommitter.Pending p : done) {
            p.succeed();
        }
    }

    /** A file in slots/ and its size. */
    private record Recycled(Path path, long size) {}

    /**
     * A file to write a new body into, at {@code body} in data/: a recycled one renamed there if there is one (the
     * one recycled last, whose pages are the likeliest still cached), else new.
     */
    private FileChannel openBodyFile(Path body) throws IOException {
        Recycled r;
        while ((r = pollRecycled()) != null) {
            try {
                rename(r.path(), body);
                return FileChannel.open(body, StandardOpenOption.WRITE);
            } catch (IOException e) {
                deleteQuietly(r.path());
                deleteQuietly(body);
            }
        }
        return openPrivate(body, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    }

    /** Puts a free slot into the pool (its count and bytes): first, to be used next, or last. */
    private void offerRecycled(Recycled r, boolean first) {
        recycledCount.incrementAndGet();
        recycledBytes.addAndGet(r.size());
        if (first) {
            recycled.addFirst(r);
        } else {
            recycled.addLast(r);
        }
    }

    /** The file recycled last, taken out of the pool (its count and bytes), or null if the pool is empty. */
    private Recycled pollRecycled() {
        Recycled r = recycled.pollFirst();
        if (r != null) {
            recycledCount.decrementAndGet();
            recycledBytes.addAndGet(-r.size());
        }
        return r;
    }

    /**
     * The body of a delivered message (its removal is durable): moved to slots/ for reuse (returned, to join the
     * pool once slots/ is synced), or deleted (null). Its content is stale: the checkpoint is past it.
     */
    private Recycled recycleOrDelete(Path body) throws IOException {
        if (recycledCount.get() < RECYCLE_MAX && recycledBytes.get() < RECYCLE_MAX_BYTES) {
            try {
                long size = Files.size(body);
                if (size <= RECYCLE_MAX_SIZE) {
                    Path r = slots.resolve("n" + slotNames.incrementAndGet());
                    rename(body, r);
                    return new Recycled(r, size);
                }
            } catch (NoSuchFileException e) {
                return null;
            }
        }
        Files.deleteIfExists(body);
        return null;
    }

    /**
     * Registers what is told, for every message stored, the time from the end of its body to its durable commit
     * (with hard links: trailer, slot file sync, names linked; without: trailer, file sync, group commit): the
     * spool's part of a client's wait for 250. Must be fast.
     */
    public void onCommitLatency(java.util.function.LongConsumer listener) {
        this.commitLatency = listener;
    }

    /**
     * Registers what is told, for every store that failed on the spool's file system, the reason:
     * {@code no_space}, {@code quota}, {@code read_only}, {@code io_error}, {@code permission_denied} or
     * {@code other}. Must be fast.
     */
    public void onStoreFailure(java.util.function.Consumer<String> listener) {
        storage.onFailure(listener);
    }

    /** Test writes made since the spool was opened (see {@link #storageProblem()}). */
    long writeProbes() {
        return storage.probes();
    }

    /** The number of fsyncs (files and directories) the spool has issued since it was opened. */
    public long fsyncCount() {
        return fsyncs.get();
    }

    /**
     * Commit batches written and messages committed in them since the spool was opened: with hard links, the
     * applier's rounds (each one set of directory fsyncs) and the messages they made durable in the directories.
     */
    public long[] commitStats() {
        return links ? new long[] {applyRounds.get(), appliedMessages.get()} : committer.stats();
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
        if (problem.isPresent() && dropRecycled() > 0) { // space kept only for speed goes before mail is refused
            storage.invalidate();
            problem = storage.problem();
        }
        return problem;
    }

    /** Deletes the files kept for reuse; returns how many there were. */
    private int dropRecycled() {
        int n = 0;
        Recycled r;
        while ((r = pollRecycled()) != null) {
            deleteQuietly(r.path());
            n++;
        }
        if (n > 0) {
            log.info("spool: {} body files kept for reuse deleted to free space", n);
        }
        return n;
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
        Path p = states.get(state).resolve(id.value());
        byte[] bytes;
        try {
            bytes = SpoolFiles.readStateFile(p);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new SpoolException(id + ": cannot read envelope: " + e, e);
        }
        try {
            EnvelopeCodec.Decoded d = decodeOrTrailer(state, id, bytes);
            long actual = Files.size(bodyPath(id));
            if (actual < d.bodySize()) {
                throw new SpoolException("body has " + actual + " bytes, envelope says " + d.bodySize());
            }
            return Optional.of(new Stored(d.envelope(), d.bodySize()));
        } catch (IOException e) {
            log.error("{}: corrupt message in {} quarantined to corrupt/: {}", id, state.key(), e.getMessage());
            quarantine(state, id);
            return Optional.empty();
        }
    }

    /**
     * The envelope from its file, or, for a message that has not been attempted yet (incoming/, active/), from the
     * body's trailer when the file is torn: its bytes were not fsynced at commit, the trailer's were.
     */
    private EnvelopeCodec.Decoded decodeOrTrailer(QueueState state, QueueId id, byte[] bytes) throws IOException {
        try {
            if (bytes == null) {
                if (isSameFile(states.get(state).resolve(id.value()), bodyPath(id))) {
                    // a message not attempted yet (in incoming/, active/ or hold/): its entry is a link to its
                    // body file, whose trailer is the envelope
                    return checkId(id, SpoolFiles.readTrailer(bodyPath(id))
                            .orElseThrow(() -> new SpoolException("body file has no whole envelope trailer")));
                }
                throw new SpoolException("not an envelope file");
            }
            return checkId(id, EnvelopeCodec.decode(bytes));
        } catch (SpoolException torn) {
            if (state != QueueState.INCOMING && state != QueueState.ACTIVE) {
                throw torn;
            }
            Optional<EnvelopeCodec.Decoded> t = SpoolFiles.readTrailer(bodyPath(id));
            if (t.isEmpty()) {
                throw torn;
            }
            EnvelopeCodec.Decoded d = checkId(id, t.get());
            log.info("{}: envelope in {} was torn ({}); read from the body's trailer", id, state.key(),
                    torn.getMessage());
            return d;
        }
    }

    private static boolean isSameFile(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    private static EnvelopeCodec.Decoded checkId(QueueId id, EnvelopeCodec.Decoded d) throws SpoolException {
        if (!d.envelope().id().equals(id)) {
            throw new SpoolException("envelope carries id " + d.envelope().id());
        }
        return d;
    }

    /**
     * Reads the envelope of {@code id} in {@code state} for display, without side effects: a missing, changing or
     * unreadable file is simply empty (it is never quarantined from here; {@link #load} does that).
     */
    public Optional<Stored> peek(QueueState state, QueueId id) {
        try {
            Path entry = states.get(state).resolve(id.value());
            EnvelopeCodec.Decoded d = decodeOrTrailer(state, id, SpoolFiles.readStateFile(entry));
            return Optional.of(new Stored(d.envelope(), d.bodySize()));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The state whose directory holds {@code id}'s envelope, if any (active checked first). */
    public Optional<QueueState> stateOf(QueueId id) {
        for (QueueState s : QueueState.values()) {
            if (Files.exists(states.get(s).resolve(id.value()))) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    /** The size of the file of {@code id} in {@code state} (the body; for corrupt/, the quarantined body), or 0. */
    public long bodySize(QueueState state, QueueId id) {
        Path p = state == QueueState.CORRUPT ? states.get(state).resolve(id.value() + ".body") : bodyPath(id);
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    /** The ids in {@code state}, oldest first (ids are time-ordered). */
    public List<QueueId> list(QueueState state) throws SpoolException {
        try {
            List<QueueId> ids = new ArrayList<>();
            for (Path p : entries(states.get(state))) {
                String n = p.getFileName().toString();
                if (QueueId.isValid(n)) {
                    ids.add(new QueueId(n));
                }
            }
            ids.sort((a, b) -> a.value().compareTo(b.value()));
            return ids;
        } catch (IOException e) {
            throw new SpoolException("cannot list " + state.key() + ": " + e, e);
        }
    }

    /** Moves a message between states without changing its envelope. */
    public void move(QueueId id, QueueState from, QueueState to) throws SpoolException {
        try {
            rename(states.get(from).resolve(id.value()), states.get(to).resolve(id.value()));
            if (to != QueueState.ACTIVE) { // recovery returns active/ to incoming/: a lost rename there is harmless
                syncDirectory(states.get(to));
            }
        } catch (IOException e) {
            throw new SpoolException(id + ": cannot move from " + from.key() + " to " + to.key() + ": " + e, e);
        }
    }

    /**
     * Takes back a message left in active/ when its outcome could not be recorded: as recovery at start would, its
     * entry goes back to incoming/, or is dropped from active/ when the message is in another state already (an
     * update that wrote the new envelope but could not remove the old one). Returns the state the message is in
     * now, or empty when it is gone (a removal that went through).
     */
    public Optional<QueueState> releaseActive(QueueId id) throws SpoolException {
        Path entry = states.get(QueueState.ACTIVE).resolve(id.value());
        try {
            if (!Files.exists(entry)) {
                return stateOf(id);
            }
            for (QueueState s : List.of(QueueState.INCOMING, QueueState.DEFERRED, QueueState.HOLD,
                    QueueState.FAILED, QueueState.CORRUPT)) {
                if (Files.exists(states.get(s).resolve(id.value()))) {
                    Files.delete(entry);
                    return Optional.of(s);
                }
            }
            move(id, QueueState.ACTIVE, QueueState.INCOMING);
            return Optional.of(QueueState.INCOMING);
        } catch (IOException e) {
            throw new SpoolException(id + ": cannot take back from active: " + e, e);
        }
    }

    /**
     * Replaces the envelope (after an attempt, say) and moves it from {@code from} to {@code to} in one step that
     * survives a crash: the new envelope is written and made visible in {@code to} before the old one goes.
     */
    public void update(Envelope envelope, long bodySize, QueueState from, QueueState to) throws SpoolException {
        String name = envelope.id().value();
        Path envTmp = tmp.resolve(name + ".env");
        try {
            awaitApplied(name); // its data/ name must be durable before its entry, a link, may go
            writeSynced(envTmp, EnvelopeCodec.encode(envelope, bodySize));
            rename(envTmp, states.get(to).resolve(name));
            syncDirectory(states.get(to));
            if (from != to) {
                Files.deleteIfExists(states.get(from).resolve(name));
            }
        } catch (IOException e) {
            deleteQuietly(envTmp);
            if (StorageGuard.faultReason(e).isPresent()) {
                storage.storeFailed(e); // the disk that keeps outcomes is the one that takes mail
            }
            throw new SpoolException(envelope.id() + ": cannot update envelope: " + e, e);
        }
    }

    /**
     * Removes a finished message: the envelope first (the message is then gone), then its body. Concurrent
     * removals from active/ (delivered messages) share one fsync of active/.
     */
    public void remove(QueueId id, QueueState from) throws SpoolException {
        try {
            if (from == QueueState.ACTIVE) {
                remover.commit(id.value()); // returns once the removal is durable and the body recycled
                return;
            }
            awaitApplied(id.value()); // a message still only safe in its slot would come back from there
            Files.deleteIfExists(states.get(from).resolve(id.value()));
            syncDirectory(states.get(from)); // a removed message must not come back after a crash
            Files.deleteIfExists(bodyPath(id));
            if (from == QueueState.CORRUPT) { // an operator deleting a quarantined message: its body too
                Files.deleteIfExists(states.get(from).resolve(id.value() + ".body"));
            }
        } catch (IOException e) {
            throw new SpoolException(id + ": cannot remove: " + e, e);
        }
    }

    public Path bodyPath(QueueId id) {
        return data.resolve(id.value());
    }

    /** Free bytes on the spool's file system. */
    public long usableSpace() throws IOException {
        return Files.getFileStore(root).getUsableSpace();
    }

    private void quarantine(QueueState state, QueueId id) {
        try {
            Path corrupt = states.get(QueueState.CORRUPT);
            rename(states.get(state).resolve(id.value()), corrupt.resolve(id.value()));
            Path body = bodyPath(id);
            if (Files.exists(body)) {
                rename(body, corrupt.resolve(id.value() + ".body"));
            }
            syncDirectory(corrupt);
        } catch (IOException e) {
            log.error("{}: cannot quarantine: {}", id, e.toString());
        }
    }

    /**
     * Copies {@code in} to its end into {@code out}. The buffer starts small (most mail is a few KiB, and 64 KiB
     * per message was most of the relay's garbage) and grows to {@code COPY_BUFFER} once a read fills it.
     */
    private static long copy(InputStream in, FileChannel out, java.util.zip.CRC32C crc) throws IOException {
        byte[] buf = new byte[FIRST_COPY_BUFFER];
        ByteBuffer bb = ByteBuffer.wrap(buf);
        long total = 0;
        int n;
        while ((n = read(in, buf)) > 0) {
            if (crc != null) {
                crc.update(buf, 0, n);
            }
            bb.clear().limit(n);
            while (bb.hasRemaining()) {
                out.write(bb);
            }
            total += n;
            if (n == buf.length && buf.length < COPY_BUFFER) {
                buf = new byte[COPY_BUFFER];
                bb = ByteBuffer.wrap(buf);
            }
        }
        return total;
    }

    private static int read(InputStream in, byte[] buf) throws BodyReadFailure {
        try {
            return in.readNBytes(buf, 0, buf.length);
        } catch (IOException e) {
            throw new BodyReadFailure(e);
        }
    }

    private void writeSynced(Path p, byte[] bytes) throws IOException {
        try (FileChannel ch = openPrivate(p, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            writeFully(ch, ByteBuffer.wrap(bytes));
            force(ch); // the envelope's bytes must be on disk before its rename makes it visible
        }
    }

    private static void writeUnsynced(Path p, byte[] bytes) throws IOException {
        try (FileChannel ch = openPrivate(p, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            writeFully(ch, ByteBuffer.wrap(bytes));
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer bb) throws IOException {
        while (bb.hasRemaining()) {
            ch.write(bb);
        }
    }

    private static void rename(Path from, Path to) throws IOException {
        try {
            // atomic: a reader sees the old name or the new one, never a half-moved file
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("the spool's file system cannot rename atomically: " + e.getMessage(), e);
        }
    }

    private void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            force(ch); // fsync of the directory makes the renames in it survive a power loss
        }
    }

    /** The fdatasync of a body file (counted with the fsyncs). */
    private void forceData(FileChannel ch) throws IOException {
        fsyncs.incrementAndGet();
        ch.force(false);
    }

    /** Every fsync of the spool goes through here, so that they can be counted. */
    private void force(FileChannel ch) throws IOException {
        fsyncs.incrementAndGet();
        ch.force(true); // data and metadata (size, block map) on stable storage before we depend on them
    }

    private static List<Path> entries(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                out.add(p);
            }
        }
        return out;
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: recovery at the next open removes leftovers
        }
    }

    @Override
    public void close() {
        if (!open.compareAndSet(true, false)) {
            return;
        }
        storage.close();
        committer.close();
        remover.close(); // (its last batch may wait for the applier)
        if (applier != null) {
            applyLock.lock();
            try {
                applyClosed = true;
                applyWork.signal();
            } finally {
                applyLock.unlock();
            }
            try {
                applier.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try {
                checkpointChannel.close();
            } catch (IOException ignored) {
                // closing a file that was only written and synced
            }
        }
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException e) {
            log.warn("cannot release spool lock: {}", e.toString());
        }
    }
}
