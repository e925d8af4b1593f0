package dev.relay.core.spool;

import dev.relay.core.model.Envelope;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.LongConsumer;
import java.util.zip.CRC32C;

/**
 * The commit where the file system has hard links: one fdatasync of a {@link SlotPool slot} file, a file whose name
 * is already durable, so no directory fsync is on the path to 250 (~0.1 to 0.2 ms on the benchmark VM, where a link
 * plus a directory fsync cost as much again, and more on a journaled ext4).
 *
 * <p>The body and a trailer (the envelope, the message's sequence number and a CRC, see {@link SpoolFiles}) go into
 * the slot and are synced: that is the commit point. Then the message gets its names, {@code data/<id>} and its
 * entry {@code incoming/<id>} (links to the slot's file, whose trailer is its envelope: no second file, no second
 * inode), not synced, and the caller may answer 250. The {@link Applier} makes those names durable and moves the
 * checkpoint past the message; until then a crash finds it in its slot ({@link SpoolRecovery}).
 */
final class SlotCommit extends CommitPath {
    private final Applier applier;

    SlotCommit(SpoolParts parts, Failure failure, LongConsumer latency) {
        super(parts, failure, latency);
        this.applier = parts.applier();
    }

    @Override
    long commit(Envelope envelope, InputStream body) throws SpoolException {
        String name = envelope.id().value();
        Path bodyFile = data.resolve(name);
        Path entry = incoming.resolve(name);
        SlotPool.Slot slot = null;
        long seq = -1;
        boolean linkedBody = false;
        boolean committed = false;
        try {
            slot = slots.take();
            seq = applier.begin();
            long size;
            long bodyEnd;
            try (FileChannel ch = FileChannel.open(slot.path(), StandardOpenOption.WRITE)) {
                CRC32C crc = new CRC32C();
                size = copy(body, ch, crc);
                bodyEnd = System.nanoTime();
                byte[] envelopeBytes = EnvelopeCodec.encode(envelope, size);
                crc.update(envelopeBytes);
                writeTrailer(ch, envelopeBytes, SpoolFiles.slotFooter(seq, crc.getValue(), envelopeBytes.length));
                files.forceData(ch); // the commit point: the slot's name is durable already
            }
            Files.createLink(bodyFile, slot.path());
            linkedBody = true;
            Files.createLink(entry, slot.path());
            applier.linked(name, slot.path(), seq);
            committed = true;
            return reported(size, bodyEnd);
        } catch (IOException e) {
            throw failure.of(envelope, e);
        } finally {
            if (seq >= 0) {
                applier.end(seq, committed); // after the message is linked: see Applier.apply
            }
            if (!committed) {
                if (linkedBody) {
                    DurableFiles.deleteQuietly(bodyFile);
                }
                if (slot != null) {
                    slots.release(slot);
                }
            }
        }
    }

    @Override
    CommitStats stats() {
        return new CommitStats(applier.rounds(), applier.messages());
    }

    @Override
    public void close() {
        // the applier is closed by the spool, after the removals that may wait for it
    }
}
