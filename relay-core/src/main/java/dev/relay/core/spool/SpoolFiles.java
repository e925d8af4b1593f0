package dev.relay.core.spool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Optional;

/**
 * The on-disk form of the spool's files beside {@link EnvelopeCodec}: a body file is the message, then the
 * envelope as encoded by {@link EnvelopeCodec}, then a footer; an entry in a state directory is either an envelope
 * file or a hard link to the body file (a message not attempted yet). See {@link SlotCommit} for why.
 *
 * <p>Two footers, both 8-byte big-endian numbers ending in the envelope's length and a magic number:
 * <ul>
 *   <li>{@code RLYENV01}, 16 bytes: the envelope's length, the magic.</li>
 *   <li>{@code RLYENV02}, 32 bytes: the message's commit sequence number, the CRC-32C of everything before the
 *       footer (body and envelope), the envelope's length, the magic. A file committed in a slot carries it:
 *       recovery trusts a slot only if the CRC matches (a crash can leave a slot half overwritten) and the
 *       sequence number is at or past the checkpoint (else it is the stale content of a reused file).</li>
 * </ul>
 *
 * <p>The checkpoint file holds the spool's checkpoint: every message whose sequence number is below it is durably
 * in the spool's directories, and its slot's content is stale. 24 bytes: magic {@code RLYCKP01}, the number, and
 * the CRC-32C of the number.
 */
final class SpoolFiles {
    /** The footer of a body file: the length of the envelope copy before it, and a magic number. */
    static final int FOOTER_LENGTH = 16;
    /** The footer of a body file committed in a slot: sequence number, CRC, envelope length, magic. */
    static final int SLOT_FOOTER_LENGTH = 32;
    private static final long FOOTER_MAGIC = 0x524c59454e563031L; // "RLYENV01"
    private static final long SLOT_FOOTER_MAGIC = 0x524c59454e563032L; // "RLYENV02"
    private static final long CHECKPOINT_MAGIC = 0x524c59434b503031L; // "RLYCKP01"
    static final int CHECKPOINT_LENGTH = 24;
    private static final long MAX_ENVELOPE = 4L * 1024 * 1024; // 1,000 recipients of 256 characters: 0.3 MiB

    private SpoolFiles() {}

    /**
     * The bytes of an envelope file, or null when {@code p} is not one (a new message's entry in incoming/ or
     * active/ is a hard link to its body file, which does not start with the envelope format's first line).
     */
    static byte[] readStateFile(Path p) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < EnvelopeCodec.HEAD.length || size > MAX_ENVELOPE) {
                return size == 0 ? new byte[0] : null; // empty: a torn envelope file
            }
            if (!Arrays.equals(read(ch, 0, EnvelopeCodec.HEAD.length).array(), EnvelopeCodec.HEAD)) {
                return null;
            }
            return read(ch, 0, (int) size).array();
        }
    }

    /** The envelope copy at the end of a body file, if it has a whole one. */
    static Optional<EnvelopeCodec.Decoded> readTrailer(Path body) throws IOException {
        try (FileChannel ch = FileChannel.open(body, StandardOpenOption.READ)) {
            // both footers end in the envelope's length and their magic number
            ByteBuffer footer = tail(ch, FOOTER_LENGTH);
            long magic = footer == null ? 0 : footer.getLong(8);
            int footerLength = magic == FOOTER_MAGIC ? FOOTER_LENGTH
                    : magic == SLOT_FOOTER_MAGIC ? SLOT_FOOTER_LENGTH : -1;
            return footerLength < 0 ? Optional.empty()
                    : envelopeBefore(ch, ch.size() - footerLength, footer.getLong(0));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /** What a slot holds when its content is whole: the message's envelope and its commit sequence number. */
    record SlotContent(EnvelopeCodec.Decoded decoded, long seq) {}

    /**
     * The message in a slot file, if the file ends in a slot footer whose CRC matches all that comes before it
     * (the whole file is read); empty for anything else: a torn write, an older format, an empty file.
     */
    static Optional<SlotContent> readSlot(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer footer = tail(ch, SLOT_FOOTER_LENGTH);
            if (footer == null) {
                return Optional.empty();
            }
            long size = ch.size();
            long seq = footer.getLong();
            long crc = footer.getLong();
            long length = footer.getLong();
            if (footer.getLong() != SLOT_FOOTER_MAGIC) {
                return Optional.empty();
            }
            java.util.zip.CRC32C c = new java.util.zip.CRC32C();
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(64 * 1024, size));
            long end = size - SLOT_FOOTER_LENGTH;
            for (long pos = 0; pos < end; ) {
                buf.clear().limit((int) Math.min(buf.capacity(), end - pos));
                readFully(ch, buf, pos);
                buf.flip();
                pos += buf.remaining();
                c.update(buf);
            }
            if (c.getValue() != crc) {
                return Optional.empty();
            }
            return envelopeBefore(ch, end, length).map(d -> new SlotContent(d, seq));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /**
     * The envelope of {@code length} bytes that ends at {@code end} (where the footer starts), if it decodes and
     * the body it describes fills the file up to it exactly.
     */
    private static Optional<EnvelopeCodec.Decoded> envelopeBefore(FileChannel ch, long end, long length)
            throws IOException {
        if (length <= 0 || length > MAX_ENVELOPE || length > end) {
            return Optional.empty();
        }
        byte[] env = read(ch, end - length, (int) length).array();
        try {
            EnvelopeCodec.Decoded d = EnvelopeCodec.decode(env);
            return d.bodySize() == end - length ? Optional.of(d) : Optional.empty();
        } catch (SpoolException e) {
            return Optional.empty();
        }
    }

    static ByteBuffer slotFooter(long seq, long crc, int envelopeLength) {
        return ByteBuffer.allocate(SLOT_FOOTER_LENGTH).putLong(seq).putLong(crc).putLong(envelopeLength)
                .putLong(SLOT_FOOTER_MAGIC).flip();
    }

    static ByteBuffer checkpoint(long value) {
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(ByteBuffer.allocate(8).putLong(value).flip());
        return ByteBuffer.allocate(CHECKPOINT_LENGTH).putLong(CHECKPOINT_MAGIC).putLong(value).putLong(c.getValue())
                .flip();
    }

    /** The checkpoint in {@code file}, or empty when there is none or it does not check out. */
    static Optional<Long> readCheckpoint(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() < CHECKPOINT_LENGTH) {
                return Optional.empty();
            }
            ByteBuffer b = read(ch, 0, CHECKPOINT_LENGTH);
            long magic = b.getLong();
            long value = b.getLong();
            long crc = b.getLong();
            return magic == CHECKPOINT_MAGIC && checkpoint(value).getLong(16) == crc ? Optional.of(value)
                    : Optional.empty();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /** The last {@code length} bytes of {@code ch}, ready to be read; null if it is shorter. */
    private static ByteBuffer tail(FileChannel ch, int length) throws IOException {
        long size = ch.size();
        return size < length ? null : read(ch, size - length, length);
    }

    /** The {@code length} bytes of {@code ch} from {@code position}, ready to be read. */
    private static ByteBuffer read(FileChannel ch, long position, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        readFully(ch, buf, position);
        return buf.flip();
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, position + buf.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    static ByteBuffer footer(int envelopeLength) {
        return ByteBuffer.allocate(FOOTER_LENGTH).putLong(envelopeLength).putLong(FOOTER_MAGIC).flip();
    }
}
