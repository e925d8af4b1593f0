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
 * envelope as encoded by {@link EnvelopeCodec}, then a 16-byte footer (the envelope's length, 8 bytes
 * big-endian, and {@code RLYENV01}); an entry in a state directory is either an envelope file or a hard link to
 * the body file (a message not attempted yet). See {@link Spool} for why.
 */
final class SpoolFiles {
    /** The footer of a body file: the length of the envelope copy before it, and a magic number. */
    static final int FOOTER_LENGTH = 16;
    private static final long FOOTER_MAGIC = 0x524c59454e563031L; // "RLYENV01"
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
            ByteBuffer head = ByteBuffer.allocate(EnvelopeCodec.HEAD.length);
            readFully(ch, head, 0);
            if (!Arrays.equals(head.array(), EnvelopeCodec.HEAD)) {
                return null;
            }
            ByteBuffer all = ByteBuffer.allocate((int) size);
            readFully(ch, all, 0);
            return all.array();
        }
    }

    /** The envelope copy at the end of a body file, if it has a whole one. */
    static Optional<EnvelopeCodec.Decoded> readTrailer(Path body) throws IOException {
        try (FileChannel ch = FileChannel.open(body, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < FOOTER_LENGTH) {
                return Optional.empty();
            }
            ByteBuffer footer = ByteBuffer.allocate(FOOTER_LENGTH);
            readFully(ch, footer, size - FOOTER_LENGTH);
            footer.flip();
            long length = footer.getLong();
            if (footer.getLong() != FOOTER_MAGIC || length <= 0 || length > MAX_ENVELOPE
                    || length > size - FOOTER_LENGTH) {
                return Optional.empty();
            }
            ByteBuffer env = ByteBuffer.allocate((int) length);
            readFully(ch, env, size - FOOTER_LENGTH - length);
            EnvelopeCodec.Decoded d;
            try {
                d = EnvelopeCodec.decode(env.array());
            } catch (SpoolException e) {
                return Optional.empty();
            }
            return d.bodySize() + length + FOOTER_LENGTH == size ? Optional.of(d) : Optional.empty();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
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
