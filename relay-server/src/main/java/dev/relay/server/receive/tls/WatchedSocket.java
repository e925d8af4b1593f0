package dev.relay.server.receive.tls;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.util.function.LongSupplier;

/**
 * An accepted TCP connection whose writes the session deadlines can see: every byte the relay sends a client
 * (replies, and the TLS records of a TLS session layered over this socket) goes through {@link #getOutputStream},
 * which notes when the write in progress began. A client that sends a pipelined burst and never reads the replies
 * blocks the session thread in such a write; {@link #writeBlockedFor} tells the sweeper for how long, and the
 * sweeper closes this socket (from a thread of its own) when no write has progressed for the idle timeout.
 * Writes go out in pieces of at most {@value #PIECE} bytes, each piece counting as progress.
 *
 * <p>It is the accepted socket itself ({@link ListeningSocket} accepts into it with {@code implAccept}), not a
 * wrapper: everything but the output stream is {@link Socket}'s own, and a write costs what it cost the plain
 * socket plus the two clock notes.
 */
public final class WatchedSocket extends Socket {
    /** The most one write to the real socket carries: a client that reads slowly but steadily makes progress. */
    static final int PIECE = 8192;

    private final LongSupplier clock;
    /** The watched output stream, made once the socket is accepted ({@link #accepted}). */
    private OutputStream watched;
    /** A write is in progress since {@link #writeSince} (the clock's nanoseconds). */
    private volatile boolean writing;
    private volatile long writeSince;

    /**
     * An unconnected socket, for {@link java.net.ServerSocket}'s {@code implAccept}.
     *
     * @param clock the time in nanoseconds, as the session deadlines measure it
     */
    WatchedSocket(LongSupplier clock) {
        this.clock = clock;
    }

    /** How long the write in progress has been blocked at {@code now} (the clock's nanoseconds); 0 if none. */
    public long writeBlockedFor(long now) {
        long since = writeSince;
        return writing ? Math.max(0, now - since) : 0;
    }

    /** Makes the watched stream over the connection's own; called once accepted, before any other thread sees it. */
    void accepted() throws IOException {
        watched = new Watched(super.getOutputStream());
    }

    @Override
    public OutputStream getOutputStream() throws IOException {
        super.getOutputStream(); // throws if closed or shut down, as Socket's does
        return watched;
    }

    /** The connection's own stream with each piece of a write noted; flush and close are the stream's own. */
    private final class Watched extends FilterOutputStream {
        Watched(OutputStream real) {
            super(real);
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            try {
                while (len > 0) {
                    int piece = Math.min(len, PIECE);
                    writeSince = clock.getAsLong();
                    writing = true;
                    out.write(b, off, piece);
                    off += piece;
                    len -= piece;
                }
            } finally {
                writing = false;
            }
        }
    }
}
