package dev.relay.core.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The spool's file primitives: fsync (counted), atomic rename, link counts, and the creation of private files and
 * directories. Every fsync of the spool goes through one instance, so that {@link Spool#fsyncCount()} can tell how
 * many a message costs.
 *
 * <p>Mail is private whatever the process umask: every directory the spool makes is created 0700 and every file
 * 0600 (given at creation, so there is no moment in which another user could open it; a hard link or a rename keeps
 * the file's mode). On a file system without POSIX permissions no mode is given.
 */
final class DurableFiles {
    private static final Logger log = LoggerFactory.getLogger(Spool.class);
    static final FileAttribute<?>[] PRIVATE_DIR = posix("rwx------");
    static final FileAttribute<?>[] PRIVATE_FILE = posix("rw-------");

    private final AtomicLong fsyncs = new AtomicLong();

    static boolean posixPermissions() {
        return FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    }

    private static FileAttribute<?>[] posix(String perms) {
        if (!posixPermissions()) {
            return new FileAttribute<?>[0];
        }
        return new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(perms))};
    }

    /** The number of fsyncs (files and directories) issued through this instance. */
    long fsyncCount() {
        return fsyncs.get();
    }

    static void createDirectories(Path dir) throws IOException {
        Files.createDirectories(dir, PRIVATE_DIR);
    }

    /** The permissions of other users, and of them and the group. */
    static final Set<PosixFilePermission> OTHERS = EnumSet.of(PosixFilePermission.OTHERS_READ,
            PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);
    static final Set<PosixFilePermission> GROUP_AND_OTHERS = EnumSet.of(PosixFilePermission.GROUP_READ,
            PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    /**
     * Takes {@code remove} away from the permissions of {@code p}; returns whether there was any to take. Nothing
     * on a file system without POSIX permissions (as at creation: no mode is given there).
     */
    static boolean revoke(Path p, Set<PosixFilePermission> remove) throws IOException {
        if (!posixPermissions()) {
            return false;
        }
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
        if (!perms.removeAll(remove)) {
            return false;
        }
        Files.setPosixFilePermissions(p, perms);
        return true;
    }

    /** Opens {@code p}, created 0600 if the options create it. */
    static FileChannel openPrivate(Path p, OpenOption... options) throws IOException {
        return FileChannel.open(p, Set.of(options), PRIVATE_FILE);
    }

    /** Writes {@code bytes} to a new file {@code p} and fsyncs it: its bytes are on disk before a rename shows it. */
    void writeSynced(Path p, byte[] bytes) throws IOException {
        try (FileChannel ch = openPrivate(p, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            writeFully(ch, ByteBuffer.wrap(bytes));
            force(ch);
        }
    }

    static void writeUnsynced(Path p, byte[] bytes) throws IOException {
        try (FileChannel ch = openPrivate(p, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            writeFully(ch, ByteBuffer.wrap(bytes));
        }
    }

    static void writeFully(FileChannel ch, ByteBuffer bb) throws IOException {
        while (bb.hasRemaining()) {
            ch.write(bb);
        }
    }

    static void rename(Path from, Path to) throws IOException {
        try {
            // atomic: a reader sees the old name or the new one, never a half-moved file
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("the spool's file system cannot rename atomically: " + e.getMessage(), e);
        }
    }

    void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            force(ch); // fsync of the directory makes the renames in it survive a power loss
        }
    }

    /**
     * The fdatasync of a file: it writes what reading the data back needs (size, block map) and skips what it does
     * not (times); for a reused file of the same size that is the data blocks alone.
     */
    void forceData(FileChannel ch) throws IOException {
        fsyncs.incrementAndGet();
        ch.force(false);
    }

    void force(FileChannel ch) throws IOException {
        fsyncs.incrementAndGet();
        ch.force(true); // data and metadata (size, block map) on stable storage before we depend on them
    }

    /** Tries a hard link in {@code dir} (created if needed); false when the file system has none. */
    static boolean hardLinksWork(Path dir) {
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

    /** The number of names {@code p} has, or -1 when the file system does not say. */
    static int linkCount(Path p) {
        try {
            return ((Number) Files.getAttribute(p, "unix:nlink")).intValue();
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            return -1;
        }
    }

    static boolean isSameFile(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    static List<Path> entries(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                out.add(p);
            }
        }
        return out;
    }

    static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: recovery at the next open removes leftovers
        }
    }
}
