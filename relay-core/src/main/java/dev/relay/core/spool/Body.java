package dev.relay.core.spool;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.file.Path;

/**
 * A message's content as the spool gives it to be read: {@link #open} reads exactly the message, whatever the file
 * holds after it. A spool body file carries the envelope's copy and a footer after the message ({@link SpoolFiles});
 * a reader of a {@code Body} never needs to know that. Immutable; opening it twice reads it twice.
 *
 * <p>A body may have bytes in front of its file's ({@link #withPrefix}): a header field added on the way out,
 * such as a DKIM signature, without copying the message or changing the spooled original.
 */
public final class Body {
    private static final byte[] NONE = {};

    private final Path file;
    private final long length;
    private final byte[] prefix;

    private Body(Path file, long length, byte[] prefix) {
        this.file = file;
        this.length = length;
        this.prefix = prefix;
    }

    /**
     * The first {@code length} bytes of {@code file}, or all of it when {@code length} is negative. A stored
     * message's Body comes from {@link Spool#body}, which knows where its file is and where the message ends.
     */
    public static Body of(Path file, long length) {
        return new Body(file, length, NONE);
    }

    /** All of {@code file}: a message outside the spool's body files (a rewritten copy in tmp/, say). */
    public static Body wholeFile(Path file) {
        return new Body(file, -1, NONE);
    }

    /** This message with {@code first} in front of it (e.g. a header field added on the way out). */
    public Body withPrefix(byte[] first) {
        byte[] both = new byte[first.length + prefix.length];
        System.arraycopy(first, 0, both, 0, first.length);
        System.arraycopy(prefix, 0, both, first.length, prefix.length);
        return new Body(file, length, both);
    }

    /** Reads the message, and only the message; the caller closes the stream. */
    public InputStream open() throws IOException {
        InputStream in = BodyInput.open(file, length);
        return prefix.length == 0 ? in : new SequenceInputStream(new ByteArrayInputStream(prefix), in);
    }

    /** The message's size in bytes when it is known without reading the file, else -1. */
    public long knownSize() {
        return length < 0 ? -1 : prefix.length + length;
    }

    /** The file, for log lines. */
    @Override
    public String toString() {
        return file.toString();
    }
}
