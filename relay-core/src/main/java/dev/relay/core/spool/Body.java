package dev.relay.core.spool;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

/**
 * A message's content as the spool gives it to be read: {@link #open} reads exactly the message, whatever the file
 * holds after it. A spool body file carries the envelope's copy and a footer after the message ({@link SpoolFiles});
 * a reader of a {@code Body} never needs to know that. Immutable; opening it twice reads it twice.
 */
public final class Body {
    private final Path file;
    private final long length;

    private Body(Path file, long length) {
        this.file = file;
        this.length = length;
    }

    /**
     * The first {@code length} bytes of {@code file}, or all of it when {@code length} is negative. A stored
     * message's Body comes from {@link Spool#body}, which knows where its file is and where the message ends.
     */
    public static Body of(Path file, long length) {
        return new Body(file, length);
    }

    /** All of {@code file}: a message outside the spool's body files (a rewritten copy in tmp/, say). */
    public static Body wholeFile(Path file) {
        return new Body(file, -1);
    }

    /** Reads the message, and only the message; the caller closes the stream. */
    public InputStream open() throws IOException {
        return BodyInput.open(file, length);
    }

    /** The message's size in bytes when it is known without reading the file, else -1. */
    public long knownSize() {
        return length < 0 ? -1 : length;
    }

    /** The file, for log lines. */
    @Override
    public String toString() {
        return file.toString();
    }
}
