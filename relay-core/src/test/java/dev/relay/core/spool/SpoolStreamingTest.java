package dev.relay.core.spool;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A large message goes to disk through small, reused buffers: it never sits whole in the heap. */
class SpoolStreamingTest {
    private static final long SIZE = 50L * 1024 * 1024;

    @TempDir
    Path dir;

    /** Generates {@code size} pseudo-random bytes into the caller's buffer, recording how it is read. */
    static final class GeneratedBody extends InputStream {
        private final long size;
        private final CRC32C crc = new CRC32C();
        private long position;
        private long seed = 42;
        private final java.util.Set<byte[]> buffers =
                java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        private int largestRead;

        GeneratedBody(long size) {
            this.size = size;
        }

        @Override
        public int read() {
            throw new AssertionError("the spool must read in blocks");
        }

        @Override
        public int read(byte[] b, int off, int len) {
            buffers.add(b);
            largestRead = Math.max(largestRead, len);
            if (position == size) {
                return -1;
            }
            int n = (int) Math.min(len, size - position);
            for (int i = off; i < off + n; i++) {
                seed = seed * 6364136223846793005L + 1442695040888963407L;
                b[i] = (byte) (seed >>> 56);
            }
            crc.update(b, off, n);
            position += n;
            return n;
        }
    }

    @Test
    void fiftyMebibyteBodyIsStreamedThroughTwoBuffersAtMostAndRoundTrips() throws Exception {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        Instant now = Instant.now();
        Envelope e = Envelope.received(QueueId.next(now), MailAddress.of("a@example.com"),
                List.of(MailAddress.of("b@example.com")), now, "demo");
        GeneratedBody body = new GeneratedBody(SIZE);
        try (Spool spool = Spool.open(dir, new SpoolSettings(0))) {
            Envelope warmUp = Envelope.received(QueueId.next(now), MailAddress.of("a@example.com"),
                    List.of(MailAddress.of("b@example.com")), now, "demo");
            spool.store(warmUp, new GeneratedBody(1024)); // class loading stays outside the measurement
            long before = threads.getCurrentThreadAllocatedBytes();
            long size = spool.store(e, body);
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;

            assertThat(size).isEqualTo(SIZE);
            // a small first buffer (most mail is a few KiB), then one 64 KiB buffer reused for every other read
            assertThat(body.buffers).as("copy buffers").hasSizeLessThanOrEqualTo(2);
            assertThat(body.largestRead).isLessThanOrEqualTo(64 * 1024);
            // everything this thread allocated during the store, buffers included: a small fraction of the body
            assertThat(allocated).as("bytes allocated by the storing thread").isLessThan(SIZE / 20);
            assertThat(crcOf(spool.bodyPath(e.id()), size)).isEqualTo(body.crc.getValue());
        }
    }

    /** The checksum of the message: the first {@code size} bytes of the body file (its trailer follows). */
    private static long crcOf(Path file, long size) throws Exception {
        CRC32C crc = new CRC32C();
        ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long left = size;
            while (left > 0 && ch.read(buf.clear().limit((int) Math.min(buf.capacity(), left))) >= 0) {
                left -= buf.position();
                crc.update(buf.flip());
            }
        }
        return crc.getValue();
    }
}
