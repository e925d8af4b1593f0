package dev.relay.server.receive;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * The message content after DATA, read straight from the connection: ends only at {@code <CR><LF>.<CR><LF>},
 * removes the leading dot of dot-stuffed lines, and turns every bare CR and bare LF into CRLF. A bare line
 * ending never starts a line that could end the data, so none of the SMTP smuggling variants ({@code <LF>.<LF>},
 * {@code <LF>.<CR><LF>}, {@code <CR>.<CR>}, {@code <CR><LF>.<LF>}, ...) ends the message: what follows them stays
 * content, and since the stored content has CRLF line endings only, delivery's dot-stuffing keeps it content on
 * the way out too.
 *
 * <p>Bytes are taken from the connection in blocks (a byte-at-a-time read through the session's buffered stream was
 * the top self time of the receive stage). What follows the end of the data belongs to the next command (a
 * pipelining client may have sent it already), so a block is read under a {@link InputStream#mark mark} of the
 * session's stream, and at the end of the data the stream is reset and moved past exactly the bytes used. A
 * stream without mark support is read one byte at a time.
 *
 * <p>A line longer than {@link #MAX_LINE} characters (RFC 5322's limit; RFC 5321's 1000 octets less CRLF) fails
 * the read once with {@link LineTooLongException}, so nothing is queued; the caller drains the rest and refuses the
 * message. Upstreams refuse or fold such lines (folding breaks DKIM signatures and can change the content), so
 * the sender learns it at submission rather than from a bounce. The whole data must also arrive before a deadline
 * ({@link #expire}): a client that trickles bytes cannot hold a session for ever.
 */
final class DataStream extends InputStream {
    /** The longest line of the message content, in octets, CRLF not counted. */
    static final int MAX_LINE = 998;
    private static final int NONE = -2;
    private static final int BLOCK = 4096;

    private final InputStream in;
    private final byte[] block;
    private int pos; // next unread byte of block
    private int lim; // end of the bytes read into block
    private boolean lineStart = true; // at the start of the data or after a real CRLF
    private int pending = NONE; // the LF of a CRLF already returned in part
    private int pushback = NONE; // a raw byte read ahead
    private boolean end;
    private long bytes;
    private boolean bareLineEndings;
    private int lineLength;
    private boolean lineTooLong;
    private final java.util.concurrent.atomic.AtomicBoolean settled = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile boolean timedOut;

    DataStream(InputStream in) {
        this.in = in;
        this.block = new byte[in.markSupported() ? BLOCK : 1];
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
                        giveBackUnread();
                        if (!settled.compareAndSet(false, true)) {
                            throw new EOFException("the data timed out"); // the deadline came first
                        }
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
        if (++lineLength > MAX_LINE && !lineTooLong) {
            lineTooLong = true; // once: the drain that follows reads on
            throw new LineTooLongException();
        }
        bytes++;
        return b;
    }

    /**
     * At the data deadline: unless the end of the data has been read already, marks the data as timed out and
     * returns true; reads then fail, and the caller closes the connection.
     */
    boolean expire() {
        if (!settled.compareAndSet(false, true)) {
            return false;
        }
        timedOut = true;
        return true;
    }

    boolean timedOut() {
        return timedOut;
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
            if (pos == lim && pending == NONE && pushback == NONE && in.available() == 0) {
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
        if (pos < lim) {
            return block[pos++] & 0xff;
        }
        try {
            if (block.length > 1) {
                in.mark(block.length); // the end of the data may be inside this block: see giveBackUnread
            }
            int n = in.read(block, 0, block.length);
            if (n <= 0) {
                return -1;
            }
            pos = 0;
            lim = n;
            return block[pos++] & 0xff;
        } catch (IOException e) {
            if (timedOut) {
                throw new EOFException("the data timed out"); // the socket was closed at the deadline
            }
            throw e;
        }
    }

    /**
     * Leaves the bytes read past the end of the data (the client's next commands) in the session's stream: back to
     * the mark of the last block, then past the bytes of it that were used.
     */
    private void giveBackUnread() throws IOException {
        if (pos == lim) {
            return;
        }
        in.reset();
        long left = pos;
        while (left > 0) {
            long skipped = in.skip(left);
            if (skipped <= 0) {
                throw new IOException("cannot return the bytes after the data to the session");
            }
            left -= skipped;
        }
        pos = lim = 0;
    }

    private int bareLineEnding() {
        bareLineEndings = true;
        return lineEnding();
    }

    private int lineEnding() {
        lineLength = 0;
        pending = '\n';
        bytes++;
        return '\r';
    }
}
