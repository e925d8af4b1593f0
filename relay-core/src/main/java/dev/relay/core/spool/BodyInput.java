package dev.relay.core.spool;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads a message body as stored: the first {@code length} bytes of its file. A body file in the spool carries a
 * copy of the envelope after the message (see {@link SpoolFiles}), so readers never read a body file to its end.
 * Only the spool knows that: everyone else reads through a {@link Body}, which uses this.
 */
final class BodyInput extends FilterInputStream {
    private long remaining;

    private BodyInput(InputStream in, long length) {
        super(in);
        this.remaining = length;
    }

    /** The first {@code length} bytes of {@code body}; a negative length means the whole file. */
    static InputStream open(Path body, long length) throws IOException {
        InputStream in = Files.newInputStream(body);
        return length < 0 ? in : new BodyInput(in, length);
    }

    @Override
    public int read() throws IOException {
        if (remaining <= 0) {
            return -1;
        }
        int b = super.read();
        if (b >= 0) {
            remaining--;
        }
        return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (remaining <= 0) {
            return len == 0 ? 0 : -1;
        }
        int n = super.read(b, off, (int) Math.min(len, remaining));
        if (n > 0) {
            remaining -= n;
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        long skipped = super.skip(Math.min(n, remaining));
        remaining -= skipped;
        return skipped;
    }

    @Override
    public int available() throws IOException {
        return (int) Math.min(super.available(), remaining);
    }

    @Override
    public boolean markSupported() {
        return false;
    }
}
