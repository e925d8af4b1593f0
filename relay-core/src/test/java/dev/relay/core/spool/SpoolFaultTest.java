package dev.relay.core.spool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store that fails on the file system itself (here a real ENOSPC on a small tmpfs, with no free-space reserve to
 * see it coming) makes the spool refuse mail and report why at once, and a real test write (not a permission look)
 * decides when it takes mail again. Needs root to mount the tmpfs: skipped with the reason otherwise, failed when
 * CI=true (CI runs as root).
 */
class SpoolFaultTest {
    private static final long MIB = 1024 * 1024;

    @TempDir
    Path dir;

    private final AtomicLong nanos = new AtomicLong();

    private static Envelope envelope() {
        Instant now = Instant.now();
        return Envelope.received(QueueId.next(now), MailAddress.of("a@example.com"),
                List.of(MailAddress.of("b@example.com")), now, "demo");
    }

    private static ByteArrayInputStream body() {
        return new ByteArrayInputStream("Subject: x\r\n\r\nx\r\n".getBytes());
    }

    /** {@code n} bytes of body, made as they are read. */
    private static InputStream large(long n) {
        return new InputStream() {
            long left = n;

            @Override
            public int read() {
                return left-- > 0 ? 'x' : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (left <= 0) {
                    return -1;
                }
                int k = (int) Math.min(len, left);
                java.util.Arrays.fill(b, off, off + k, (byte) 'x');
                left -= k;
                return k;
            }
        };
    }

    @Test
    void aStoreThatRunsOutOfSpaceMakesTheSpoolUnreadyUntilATestWriteSucceeds() throws Exception {
        Path mnt = mountTmpfs("4m");
        try {
            List<String> failures = new CopyOnWriteArrayList<>();
            try (Spool spool = Spool.open(mnt.resolve("spool"), new SpoolSettings(0), () -> 0, nanos::get)) {
                spool.onStoreFailure(failures::add);
                Envelope first = envelope();
                spool.store(first, body());
                assertThat(spool.storageProblem()).isEmpty();

                assertThatThrownBy(() -> spool.store(envelope(), large(8 * MIB)))
                        .isInstanceOf(InsufficientStorageException.class)
                        .hasMessageContaining("No space left on device");
                // no reserve to see it coming, and the directory is "writable": only the failed store can tell
                assertThat(spool.storageProblem()).as("unready at once after the failed store").get().asString()
                        .contains("No space left on device");
                assertThat(failures).containsExactly("no_space");
                assertThatThrownBy(() -> spool.store(envelope(), body()))
                        .as("refused from the failure, not tried").isInstanceOf(InsufficientStorageException.class);
                assertThat(failures).as("a refusal is not a failure of the file system").hasSize(1);

                // still full (a filler takes what the failed message gave back): the test write fails, still unready
                Path filler = mnt.resolve("filler");
                fill(filler);
                nanos.addAndGet(StorageGuard.CACHE_NANOS);
                assertThat(spool.storageProblem()).isPresent();
                long probes = spool.writeProbes();
                assertThat(probes).isPositive();
                for (int i = 0; i < 50; i++) {
                    spool.storageProblem(); // a readiness probe every few ms: at most one test write a second
                }
                assertThat(spool.writeProbes()).isEqualTo(probes);

                Files.delete(filler); // space again: the next test write succeeds and the spool takes mail
                nanos.addAndGet(StorageGuard.CACHE_NANOS);
                assertThat(spool.storageProblem()).isEmpty();
                Envelope after = envelope();
                spool.store(after, body());
                assertThat(spool.list(QueueState.INCOMING)).containsExactlyInAnyOrder(first.id(), after.id());
                try (var tmp = Files.list(mnt.resolve("spool/tmp"))) {
                    assertThat(tmp).as("the test write leaves nothing behind").isEmpty();
                }
            }
        } finally {
            run("umount", "-l", mnt.toString());
        }
    }

    @Test
    void aClientThatFailsMidDataIsNotAFailureOfTheSpool() throws Exception {
        List<String> failures = new CopyOnWriteArrayList<>();
        try (Spool spool = Spool.open(dir, new SpoolSettings(0), () -> 0, nanos::get)) {
            spool.onStoreFailure(failures::add);
            InputStream broken = new InputStream() {
                @Override
                public int read() throws IOException {
                    // a message that reads like a storage error must still count as the client's
                    throw new IOException("Read-only file system (the client's words)");
                }
            };
            assertThatThrownBy(() -> spool.store(envelope(), broken)).isInstanceOf(SpoolException.class)
                    .isNotInstanceOf(InsufficientStorageException.class);
            assertThat(failures).isEmpty();
            assertThat(spool.storageProblem()).isEmpty();
        }
    }

    private static void fill(Path filler) throws IOException {
        byte[] block = new byte[64 * 1024];
        try (OutputStream out = Files.newOutputStream(filler)) {
            while (true) {
                out.write(block);
            }
        } catch (IOException e) {
            if (!String.valueOf(e.getMessage()).contains("No space left on device")) {
                throw e;
            }
        }
    }

    private Path mountTmpfs(String size) throws Exception {
        String why;
        if (((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).intValue() != 0) {
            why = "not root: cannot mount a tmpfs to fill";
        } else {
            Path mnt = Files.createDirectory(dir.resolve("mnt"));
            why = run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", mnt.toString());
            if (why == null) {
                return mnt;
            }
        }
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail("CI=true and the full-disk case cannot run here: " + why);
        }
        return abort(why);
    }

    /** Runs a command; null when it succeeded, else its exit status and output. */
    static String run(String... command) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            return e.toString();
        }
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return String.join(" ", command) + ": no answer within 30 s";
        }
        String output = new String(p.getInputStream().readAllBytes()).strip();
        return p.exitValue() == 0 ? null : String.join(" ", command) + ": exit " + p.exitValue() + ": " + output;
    }
}
