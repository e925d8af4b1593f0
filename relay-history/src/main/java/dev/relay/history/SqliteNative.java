package dev.relay.history;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteJDBCLoader;
import org.sqlite.util.LibraryLoaderUtil;

/**
 * sqlite-jdbc's native library, kept beside the history between starts. Left to itself the driver copies the
 * library out of its jar at every start (1.1 MB under a new name) and then compares the copy with the jar's byte by
 * byte: 50 – 80 ms of each start (docs/performance.md, "Start-up"). Here the copy is made once, compared with the
 * jar's in one piece at each start, made again when it differs (another driver version), and the driver is told to
 * load it through its own settings, {@code org.sqlite.lib.path} and {@code org.sqlite.lib.name}. An operator's own
 * setting of either is kept; any problem leaves the driver to its own way.
 */
final class SqliteNative {
    private static final Logger log = LoggerFactory.getLogger(SqliteNative.class);
    /** The copies' names begin so; the driver's own clean-up removes only {@code sqlite-<version>*}. */
    static final String PREFIX = "sqlitejdbc-";

    private SqliteNative() {
    }

    /** Keeps the copy in {@code dir} and points the driver to it, unless the library is set or cannot be had. */
    static void useCopyIn(Path dir) {
        if (System.getProperty("org.sqlite.lib.path") != null || System.getProperty("org.sqlite.lib.name") != null) {
            return;
        }
        try {
            Path copy = keep(dir);
            if (copy != null) {
                System.setProperty("org.sqlite.lib.path", dir.toString());
                System.setProperty("org.sqlite.lib.name", copy.getFileName().toString());
            }
        } catch (IOException | RuntimeException e) {
            log.debug("history: the driver unpacks its native library itself: {}", e.toString());
        }
    }

    /** The copy of the jar's library for this platform in {@code dir}, made if needed; null: the jar has none. */
    static Path keep(Path dir) throws IOException {
        String name = LibraryLoaderUtil.getNativeLibName();
        try (InputStream in = SQLiteJDBCLoader.class.getResourceAsStream(
                LibraryLoaderUtil.getNativeLibResourcePath() + "/" + name)) {
            if (in == null) {
                return null; // a platform the jar has no library for: the driver says so itself
            }
            byte[] library = in.readAllBytes();
            Path copy = dir.resolve(PREFIX + SQLiteJDBCLoader.getVersion() + "-" + name);
            if (!same(copy, library)) {
                write(dir, copy, library);
            }
            removeOthers(dir, copy);
            return copy;
        }
    }

    private static boolean same(Path copy, byte[] library) throws IOException {
        return Files.isRegularFile(copy) && Files.size(copy) == library.length
                && Arrays.equals(Files.readAllBytes(copy), library);
    }

    /** Written aside, then moved into place: a relay stopped half-way leaves no half library under the name. */
    private static void write(Path dir, Path copy, byte[] library) throws IOException {
        Path part = dir.getFileSystem().supportedFileAttributeViews().contains("posix")
                ? Files.createTempFile(dir, PREFIX, ".part",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")))
                : Files.createTempFile(dir, PREFIX, ".part");
        try {
            Files.write(part, library);
            Files.move(part, copy, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(part);
        }
    }

    /** Copies of other driver versions, and parts left by a stop half-way. */
    private static void removeOthers(Path dir, Path copy) throws IOException {
        try (DirectoryStream<Path> old = Files.newDirectoryStream(dir, PREFIX + "*")) {
            for (Path p : old) {
                if (!p.equals(copy)) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
