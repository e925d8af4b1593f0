package dev.relay.core.spool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolStorageTest {
    private static final long MIB = 1024 * 1024;

    @TempDir
    Path dir;

    private final AtomicLong free = new AtomicLong(10 * MIB);
    private final AtomicLong nanos = new AtomicLong();
    private final AtomicLong probes = new AtomicLong();

    private Spool open(long reserve) throws SpoolException {
        return Spool.open(dir, new SpoolSettings(reserve), () -> {
            probes.incrementAndGet();
            return free.get();
        }, nanos::get);
    }

    private static Envelope envelope() {
        Instant now = Instant.now();
        return Envelope.received(QueueId.next(now), MailAddress.of("a@example.com"),
                List.of(MailAddress.of("b@example.com")), now, "demo");
    }

    private static ByteArrayInputStream body() {
        return new ByteArrayInputStream("Subject: x\r\n\r\nx\r\n".getBytes());
    }

    /** Bytes in free slots: a slot that also has another name is a message committed in it. */
    private static long freeSlotBytes(Path slots) throws java.io.IOException {
        try (var files = Files.list(slots)) {
            return files.mapToLong(f -> {
                try {
                    return ((Number) Files.getAttribute(f, "unix:nlink")).intValue() == 1 ? Files.size(f) : 0;
                } catch (java.io.IOException e) {
                    return 0; // removed meanwhile
                }
            }).sum();
        }
    }

    @Test
    void filesKeptForReuseAreDeletedBeforeMailIsRefusedForSpace() throws Exception {
        Path slots = dir.resolve("slots");
        AtomicLong base = new AtomicLong(1024 * MIB);
        // the kept files are what stands between the disk and the reserve: free space returns once they are gone
        try (Spool spool = Spool.open(dir, new SpoolSettings(64 * MIB), () -> {
            return freeSlotBytes(slots) > 0 ? base.get() : base.get() + 100 * MIB;
        }, nanos::get)) {
            Envelope delivered = envelope();
            spool.store(delivered, body());
            spool.move(delivered.id(), QueueState.INCOMING, QueueState.ACTIVE);
            spool.remove(delivered.id(), QueueState.ACTIVE);
            assertThat(freeSlotBytes(slots)).isPositive();

            base.set(10 * MIB);
            nanos.addAndGet(StorageGuard.CACHE_NANOS);
            Envelope next = envelope();
            spool.store(next, body()); // accepted: the kept file was deleted instead of refusing the mail
            assertThat(freeSlotBytes(slots)).isZero();
            assertThat(spool.list(QueueState.INCOMING)).containsExactly(next.id());
            assertThat(spool.writable()).isTrue();

            base.set(-100 * MIB); // nothing left to delete and still below the reserve: refused as before
            nanos.addAndGet(StorageGuard.CACHE_NANOS);
            assertThatThrownBy(() -> spool.store(envelope(), body()))
                    .isInstanceOf(InsufficientStorageException.class);
        }
    }

    @Test
    void freeSpaceBelowReserveRefusesNewMailAndRecoversWhenSpaceReturns() throws Exception {
        try (Spool spool = open(64 * MIB)) {
            assertThatThrownBy(() -> spool.store(envelope(), body()))
                    .isInstanceOf(InsufficientStorageException.class)
                    .hasMessageContaining("free space below reserve");
            assertThat(spool.writable()).isFalse();
            assertThat(spool.storageProblem()).get().asString().contains("10.0 MiB free")
                    .contains("spool.min-free-space is 64.0 MiB");
            assertThat(spool.list(QueueState.INCOMING)).isEmpty();
            assertThat(dir.resolve("tmp")).isEmptyDirectory();
            assertThat(dir.resolve("data")).isEmptyDirectory();

            free.set(1024 * MIB); // an operator cleaned up: seen once the cached figure is a second old
            assertThat(spool.writable()).isFalse();
            nanos.addAndGet(StorageGuard.CACHE_NANOS);
            assertThat(spool.writable()).isTrue();
            Envelope e = envelope();
            spool.store(e, body());
            assertThat(spool.list(QueueState.INCOMING)).containsExactly(e.id());
        }
    }

    @Test
    void freeSpaceIsReadAtMostOncePerSecondNotPerMessage() throws Exception {
        try (Spool spool = open(1 * MIB)) {
            for (int i = 0; i < 20; i++) {
                spool.store(envelope(), body());
                spool.writable();
            }
            assertThat(probes.get()).isEqualTo(1);
            nanos.addAndGet(StorageGuard.CACHE_NANOS);
            spool.store(envelope(), body());
            assertThat(probes.get()).isEqualTo(2);
        }
    }

    @Test
    void zeroReserveNeverReadsFreeSpace() throws Exception {
        free.set(0);
        try (Spool spool = open(0)) {
            spool.store(envelope(), body());
            assertThat(spool.writable()).isTrue();
            assertThat(probes.get()).isZero();
        }
    }

    @Test
    void unwritableSpoolRefusesWithInsufficientStorageAndShowsNothing() throws Exception {
        try (Spool spool = open(0)) {
            Path tmp = dir.resolve("tmp");
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("r-xr-xr-x"));
            try {
                assumeFalse(Files.isWritable(tmp), "running with privileges that ignore directory permissions");
                assertThatThrownBy(() -> spool.store(envelope(), body()))
                        .isInstanceOf(InsufficientStorageException.class);
                assertThat(spool.writable()).isFalse();
                assertThat(spool.storageProblem()).get().asString().contains("is not writable");
                assertThat(spool.list(QueueState.INCOMING)).isEmpty();
                assertThat(dir.resolve("data")).isEmptyDirectory();
            } finally {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            nanos.addAndGet(StorageGuard.CACHE_NANOS);
            spool.store(envelope(), body());
            assertThat(spool.list(QueueState.INCOMING)).hasSize(1);
        }
    }

    @Test
    void fullDiskQuotaReadOnlyAndDeniedAreStorageShortagesOtherErrorsAreNot() {
        assertThat(StorageGuard.isStorageShortage(new IOException("No space left on device"))).isTrue();
        assertThat(StorageGuard.isStorageShortage(
                new FileSystemException("/spool/tmp/x", null, "Disk quota exceeded"))).isTrue();
        assertThat(StorageGuard.isStorageShortage(
                new FileSystemException("/spool/tmp/x", null, "Read-only file system"))).isTrue();
        assertThat(StorageGuard.isStorageShortage(new AccessDeniedException("/spool/tmp/x"))).isTrue();
        assertThat(StorageGuard.isStorageShortage(
                new IOException("wrapped", new IOException("No space left on device")))).isTrue();
        assertThat(StorageGuard.isStorageShortage(new IOException("Input/output error"))).isFalse();
        assertThat(StorageGuard.isStorageShortage(new IOException("client went away"))).isFalse();
    }
}
