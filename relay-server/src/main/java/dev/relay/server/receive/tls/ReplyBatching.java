package dev.relay.server.receive.tls;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A session's socket streams with replies sent the way Postfix's smtpd sends them: a reply the session's own thread
 * flushes waits until that thread would block reading the next command, so the replies to a pipelined group (MAIL,
 * RCPT, DATA) leave in one write, one TLS record, instead of one each (RFC 2920 section 3.2: a server should keep
 * the responses to grouped commands in a buffer and send them as a unit). No reply can be held while the session
 * waits for the client: every read that would block first sends what is held.
 *
 * <p>A flush from another thread (the idle sweeper's {@code 421}) goes out at once, with anything held before it;
 * closing the output sends what is held, then closes. Held replies beyond {@link #LIMIT} bytes go out as they
 * stand.
 */
final class ReplyBatching {
    /** Held replies beyond this many bytes are written at once (replies are short; an EHLO list is ~200 bytes). */
    static final int LIMIT = 16 * 1024;

    private final InputStream rawIn;
    private final OutputStream rawOut;
    private final ReentrantLock lock = new ReentrantLock();
    private final InputStream in = new In();
    private final OutputStream out = new Out();
    private byte[] held = new byte[512];
    private int count;
    /** The thread that reads: the session's. Its flushes wait for its next blocking read. */
    private volatile Thread reader;

    ReplyBatching(InputStream rawIn, OutputStream rawOut) {
        this.rawIn = rawIn;
        this.rawOut = rawOut;
    }

    InputStream input() {
        return in;
    }

    OutputStream output() {
        return out;
    }

    /** Sends what is held, from any thread. */
    private void flushNow() throws IOException {
        lock.lock();
        try {
            if (count > 0) {
                rawOut.write(held, 0, count);
                count = 0;
            }
            rawOut.flush();
        } finally {
            lock.unlock();
        }
    }

    private void sendHeldBeforeBlocking() throws IOException {
        if (count > 0 && rawIn.available() == 0) {
            flushNow();
        }
    }

    private final class In extends InputStream {
        @Override
        public int read() throws IOException {
            reader = Thread.currentThread();
            sendHeldBeforeBlocking();
            return rawIn.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            reader = Thread.currentThread();
            sendHeldBeforeBlocking();
            return rawIn.read(b, off, len);
        }

        @Override
        public int available() throws IOException {
            return rawIn.available();
        }

        @Override
        public void close() throws IOException {
            rawIn.close();
        }
    }

    private final class Out extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            lock.lock();
            try {
                if (count + len > held.length) {
                    held = Arrays.copyOf(held, Math.max(count + len, held.length * 2));
                }
                System.arraycopy(b, off, held, count, len);
                count += len;
                if (count > LIMIT) {
                    flushNow(); // (the lock is reentrant)
                }
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void flush() throws IOException {
            if (Thread.currentThread() != reader) {
                flushNow();
            }
        }

        @Override
        public void close() throws IOException {
            try {
                flushNow();
            } finally {
                rawOut.close();
            }
        }
    }
}
