package dev.relay.history;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteJDBCLoader;
import org.sqlite.util.LibraryLoaderUtil;

/** The driver's native library kept beside the history between starts (docs/performance.md, "Start-up"). */
class SqliteNativeTest {
    @TempDir
    Path dir;

    private static byte[] jars() throws Exception {
        try (InputStream in = SQLiteJDBCLoader.class.getResourceAsStream(LibraryLoaderUtil.getNativeLibResourcePath()
                + "/" + LibraryLoaderUtil.getNativeLibName())) {
            assertThat(in).as("the driver's library for this platform").isNotNull();
            return in.readAllBytes();
        }
    }

    @Test
    void theFirstStartCopiesTheLibraryAndLaterStartsKeepTheSameFile() throws Exception {
        Path copy = SqliteNative.keep(dir);
        assertThat(copy.getFileName().toString()).startsWith(SqliteNative.PREFIX + SQLiteJDBCLoader.getVersion())
                .doesNotStartWith("sqlite-"); // the driver's own clean-up removes sqlite-<version>* at each start
        assertThat(Files.readAllBytes(copy)).isEqualTo(jars());
        Object file = Files.readAttributes(copy, BasicFileAttributes.class).fileKey();
        assertThat(SqliteNative.keep(dir)).isEqualTo(copy);
        assertThat(Files.readAttributes(copy, BasicFileAttributes.class).fileKey()).isEqualTo(file);
    }

    @Test
    void aCopyThatDiffersFromTheJarsIsMadeAgain() throws Exception {
        Path copy = SqliteNative.keep(dir);
        byte[] changed = jars();
        changed[changed.length / 2] ^= 1;
        Files.write(copy, changed);
        assertThat(Files.readAllBytes(SqliteNative.keep(dir))).isEqualTo(jars());
        Files.write(copy, new byte[] {1, 2, 3}); // cut short (a full disk)
        assertThat(Files.readAllBytes(SqliteNative.keep(dir))).isEqualTo(jars());
    }

    @Test
    void copiesOfOtherVersionsAndPartsLeftByAStopHalfWayAreRemoved() throws Exception {
        Path older = Files.writeString(dir.resolve(SqliteNative.PREFIX + "3.0.0.0-libsqlitejdbc.so"), "old");
        Path part = Files.writeString(dir.resolve(SqliteNative.PREFIX + "123.part"), "half");
        Path history = Files.writeString(dir.resolve("history.db"), "");
        Path copy = SqliteNative.keep(dir);
        assertThat(older).doesNotExist();
        assertThat(part).doesNotExist();
        assertThat(history).exists();
        try (var left = Files.list(dir)) {
            assertThat(left).containsExactlyInAnyOrder(copy, history);
        }
    }
}
