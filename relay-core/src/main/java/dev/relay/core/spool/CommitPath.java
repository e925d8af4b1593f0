package dev.relay.core.spool;

import dev.relay.core.model.Envelope;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.function.LongConsumer;
import java.util.zip.CRC32C;

/**
 * How a new message becomes durable ({@link Spool#store}): the body read to its end and the envelope written, and
 * when {@link #commit} returns the message survives a crash and is in incoming/; when it throws, nothing of it is
 * visible. Two implementations, chosen once at open: {@link SlotCommit} where the file system has hard links,
 * {@link EnvelopeFileCommit} where it has not.
 */
interface CommitPath extends AutoCloseable {

    /**
     * Commits the message; returns the body size in bytes.
     *
     * @throws SpoolException as {@link #failure} makes it: the storage guard is told of a fault of the file system
     */
    long commit(Envelope envelope, InputStream body) throws SpoolException;

    /** Rounds of directory fsyncs that made new messages durable, and the messages they made durable. */
    CommitStats stats();

    /** Told each commit's latency in nanoseconds, from the end of the body to the durable commit. */
    void onCommitLatency(LongConsumer listener);

    @Override
    void close();

    /** What a commit that failed with an {@link IOException} throws (see {@link Spool}). */
    interface Failure {
        SpoolException of(Envelope envelope, IOException e);
    }

    /** The body could not be read (its cause): the client's failure, not the spool's. */
    final class BodyReadFailure extends IOException {
        BodyReadFailure(IOException cause) {
            super(cause);
        }
    }

    /** The first buffer is small (most mail is a few KiB, and 64 KiB per message was most of the relay's garbage). */
    int FIRST_COPY_BUFFER = 8 * 1024;
    int COPY_BUFFER = 64 * 1024;

    /**
     * Copies {@code in} to its end into {@code out} (updating {@code crc} unless null). The buffer starts at
     * {@code FIRST_COPY_BUFFER} and grows to {@code COPY_BUFFER} once a read fills it.
     */
    static long copy(InputStream in, FileChannel out, CRC32C crc) throws IOException {
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
}
