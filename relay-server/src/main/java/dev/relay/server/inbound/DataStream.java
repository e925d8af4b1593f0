package dev.relay.server.inbound;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * The message content after DATA, read straight from the connection: ends only at {@code <CR><LF>.<CR><LF>},
 * removes the leading dot of dot-stuffed lines, and turns every bare CR and bare LF into CRLF. A bare line
 * ending never starts a line that could end the data, so none of the SMTP smuggling variants ({@code <LF>.<LF>},
 * {@code <LF>.<CR><LF>}, {@code <CR>.<CR>}, {@code <CR><LF>.<LF>}, ...) ends the message: what follows them stays
 * content, and since the stored content has CRLF line endings only, delivery's dot-stuffing keeps it content on
 * the way out too. Nothing is buffered beyond one byte of look-ahead.
 */
final class DataStream extends InputStream {
    private static final int NONE = -2;

    private final InputStream in;
    private boolean lineStart = true; // at the start of the data or after a real CRLF
    private int pending = NONE; // the LF of a CRLF already returned in part
    private int pushback = NONE; // a raw byte read ahead
    private boolean end;
    private long bytes;
    private boolean bareLineEndings;

    DataStream(InputStream in) {
        this.in = in;
    }

    @Override
    public int read() throws IOException {
        if (pending != NONE) {
            int p = pending;
            pending = NONE;
            bytes++;
            return p;
        }
        if (end) {
            return -1;
        }
        int b = next();
        if (lineStart) {
            lineStart = false;
            if (b == '.') {
                int c = next();
                if (c == '\r') {
                    int d = next();
                    if (d == '\n') {
                        end = true;
                        return -1;
                    }
                    pushback = d; // ".<CR>x": a stuffed dot, then a bare CR
                    return bareLineEnding();
                }
                b = c; // a stuffed dot: drop it
            }
        }
        if (b == -1) {
            throw new EOFException("connection closed before the end of the data");
        }
        if (b == '\r') {
            int c = next();
            if (c == '\n') {
                lineStart = true;
                return lineEnding();
            }
            pushback = c;
            return bareLineEnding();
        }
        if (b == '\n') {
            return bareLineEnding();
        }
        bytes++;
        return b;
    }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        int n = 0;
        while (n < len) {
            int b = read();
            if (b == -1) {
                return n == 0 ? -1 : n;
            }
            buf[off + n++] = (byte) b;
            if (in.available() == 0 && pending == NONE && pushback == NONE) {
                break; // hand over what we have rather than block with bytes in hand
            }
        }
        return n;
    }

    /** Reads and drops the rest of the data, so that it is never taken for commands. */
    void drain() throws IOException {
        while (read() != -1) {
            // nothing: bounded memory whatever the client sends
        }
    }

    /** Bytes returned so far (after unstuffing and line-ending normalisation). */
    long bytes() {
        return bytes;
    }

    boolean hadBareLineEndings() {
        return bareLineEndings;
    }

    private int next() throws IOException {
        if (pushback != NONE) {
            int p = pushback;
            pushback = NONE;
            return p;
        }
        return in.read();
    }

    private int bareLineEnding() {
        bareLineEndings = true;
        return lineEnding();
    }

    private int lineEnding() {
        pending = '\n';
        bytes++;
        return '\r';
    }
}
