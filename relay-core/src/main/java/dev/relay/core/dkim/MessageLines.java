package dev.relay.core.dkim;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * A message read line by line (its header section), then the rest in chunks (its body). A line ends at CRLF, a
 * bare LF or a bare CR, as the delivery stage sends it.
 */
final class MessageLines {
    /** A header line longer than this is refused (SMTP allows 998 characters). */
    static final int MAX_LINE = 256 * 1024;

    interface Chunk {
        void accept(byte[] b, int n);
    }

    private final InputStream in;
    private final byte[] buf = new byte[64 * 1024];
    private int pos;
    private int limit;

    MessageLines(InputStream in) {
        this.in = in;
    }

    /** The next line without its line end; null at the end of the message. */
    byte[] next() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(128);
        while (true) {
            if (pos == limit && !fill()) {
                return line.size() == 0 ? null : line.toByteArray();
            }
            byte b = buf[pos++];
            if (b == '\n') {
                return line.toByteArray();
            }
            if (b == '\r') {
                if ((pos < limit || fill()) && buf[pos] == '\n') {
                    pos++;
                }
                return line.toByteArray();
            }
            if (line.size() == MAX_LINE) {
                throw new IOException("a header line is longer than " + MAX_LINE / 1024 + " KiB");
            }
            line.write(b);
        }
    }

    /** Hands everything not read yet to {@code chunk}, in order. */
    void rest(Chunk chunk) throws IOException {
        do {
            if (limit > pos) {
                System.arraycopy(buf, pos, buf, 0, limit - pos);
                chunk.accept(buf, limit - pos);
            }
            pos = limit;
        } while (fill());
    }

    private boolean fill() throws IOException {
        int n = in.read(buf);
        if (n <= 0) {
            return false;
        }
        pos = 0;
        limit = n;
        return true;
    }
}
