package dev.relay.core.spool;

import dev.relay.core.model.Envelope;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.function.LongConsumer;
import java.util.zip.CRC32C;

/**
 * How a new message becomes durable ({@link Spool#store}): the body read to its end and the envelope written, and
 * when {@link #commit} returns the message survives a crash and is in incoming/; when it throws, nothing of it is
 * visible. Two implementations, chosen once at open: {@link SlotCommit} where the file system has hard links,
 * {@link EnvelopeFileCommit} where it has not. What they share is here: the directories, the free slots, the body
 * copy, what a failure throws, and the commit latency they report.
 */
abstract sealed class CommitPath implements AutoCloseable permits SlotCommit, EnvelopeFileCommit {
    /** The first buffer is small (most mail is a few KiB, and 64 KiB per message was most of the relay's garbage). */
    private static final int FIRST_COPY_BUFFER = 8 * 1024;
    private static final int COPY_BUFFER = 64 * 1024;

    /** What a commit that failed with an {@link IOException} throws (see {@link Spool}). */
    interface Failure {
        SpoolException of(Envelope envelope, IOException e);
    }

    /** The body could not be read (its cause): the client's failure, not the spool's. */
    static final class BodyReadFailure extends IOException {
        BodyReadFailure(IOException cause) {
            super(cause);
        }
    }

    final Path data;
    final Path incoming;
    final SlotPool slots;
    final DurableFiles files;
    final Failure failure;
    /** Told each commit's latency in nanoseconds, from the end of the body to the durable commit. */
    final LongConsumer latency;

    CommitPath(SpoolParts parts, Failure failure, LongConsumer latency) {
        this.data = parts.root().resolve("data");
        this.incoming = parts.root().resolve(QueueState.INCOMING.key());
        this.slots = parts.slots();
        this.files = parts.files();
        this.failure = failure;
        this.latency = latency;
    }

    /**
     * Commits the message; returns the body size in bytes.
     *
     * @throws SpoolException as {@link Failure} makes it: the storage guard is told of a fault of the file system
     */
    abstract long commit(Envelope envelope, InputStream body) throws SpoolException;

    /** Rounds of directory fsyncs that made new messages durable, and the messages they made durable. */
    abstract CommitStats stats();

    @Override
    public abstract void close();

    /**
     * Tells {@link #latency} of a commit whose body ended at {@code bodyEnd} ({@link System#nanoTime}); returns
     * {@code size}.
     */
    long reported(long size, long bodyEnd) {
        latency.accept(System.nanoTime() - bodyEnd);
        return size;
    }

    /**
     * Copies {@code in} to its end into {@code out} (updating {@code crc} unless null). The buffer (a spare one, or
     * a new one of {@code FIRST_COPY_BUFFER}) grows to {@code COPY_BUFFER} once a read fills it.
     */
    static long copy(InputStream in, FileChannel out, CRC32C crc) throws IOException {
        byte[] buf = SPARE_BUFFERS.poll();
        if (buf == null) {
            buf = new byte[FIRST_COPY_BUFFER];
        }
        ByteBuffer bb = ByteBuffer.wrap(buf);
        long total = 0;
        int n;
        try {
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
        } finally {
            SPARE_BUFFERS.offer(buf); // (dropped when the pool is full)
        }
    }

    /**
     * Copy buffers that commits gave back, for the next ones: without them every message allocated one (8 KiB, an
     * eighth of the bytes the relay allocated per message, measured). Bounded: 16 buffers, 1 MiB at most.
     */
    private static final ArrayBlockingQueue<byte[]> SPARE_BUFFERS = new ArrayBlockingQueue<>(16);

    /**
     * Writes the trailer after the body in {@code ch}: the envelope, then the footer; and cuts what a reused file
     * had beyond it, before anything can see the file.
     */
    static void writeTrailer(FileChannel ch, byte[] envelope, ByteBuffer footer) throws IOException {
        DurableFiles.writeFully(ch, ByteBuffer.wrap(envelope));
        DurableFiles.writeFully(ch, footer);
        long end = ch.position();
        if (ch.size() > end) {
            ch.truncate(end); // a reused file was longer: its old tail goes
        }
    }

    private static int read(InputStream in, byte[] buf) throws BodyReadFailure {
        try {
            return in.readNBytes(buf, 0, buf.length);
        } catch (IOException e) {
            throw new BodyReadFailure(e);
        }
    }
}
