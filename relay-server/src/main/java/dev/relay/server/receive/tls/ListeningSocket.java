package dev.relay.server.receive.tls;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.concurrent.CountDownLatch;
import java.util.function.LongSupplier;
import org.subethamail.smtp.server.SSLSocketCreator;

/**
 * The listening socket of one listener, closable on its own for a graceful stop. subethasmtp's
 * {@code SMTPServer.stop()} closes the listening socket and every session at once; this socket lets the relay close
 * only the listening part first ({@link #stopAccepting}: new connections are refused, so a load balancer moves
 * clients elsewhere) while the open sessions finish, and stop the server later. Until then the server's accept
 * thread waits here quietly instead of reporting the closed socket as an accept error once a second.
 *
 * <p>It is the real listening socket; only accepting and closing are its own. On an implicit-TLS listener it
 * accepts plain connections and layers TLS over each (its handshake is run and bounded by the receive stage's
 * session deadlines); the connection comes wrapped in a {@link BatchingTlsSocket}. Under either, the accepted TCP connection is a {@link WatchedSocket}, whose blocked
 * writes the session deadlines can see.
 */
public final class ListeningSocket extends ServerSocket {
    private final SSLSocketCreator tls;
    private final LongSupplier clock;
    private final CountDownLatch closed = new CountDownLatch(1);
    private volatile boolean draining;

    /**
     * @param tls for implicit TLS, what layers TLS over each accepted connection; null for plain connections
     * @param clock the time in nanoseconds, as the session deadlines measure it ({@link WatchedSocket})
     */
    public ListeningSocket(SSLSocketCreator tls, LongSupplier clock) throws IOException {
        this.tls = tls;
        this.clock = clock;
    }

    /** Closes the listening socket: connection attempts are refused from now on; open sessions are not touched. */
    public void stopAccepting() throws IOException {
        draining = true;
        super.close();
    }

    @Override
    public Socket accept() throws IOException {
        if (!draining) {
            try {
                Socket accepted = acceptWatched();
                if (tls == null) {
                    return accepted;
                }
                // implicit TLS, layered over the plain socket (kept: see BatchingTlsSocket.raw); replies to a
                // pipelined group in one TLS record
                try {
                    return BatchingTlsSocket.wrap(tls.createSSLSocket(accepted), accepted);
                } catch (IOException | RuntimeException e) {
                    accepted.close();
                    throw e;
                }
            } catch (IOException e) {
                if (!draining) {
                    throw e;
                }
            }
        }
        // stopped accepting: wait for the server's stop, which closes this socket and then ends the accept loop
        try {
            closed.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw new SocketException("listener closed");
    }

    /** The connection with its writes watched: every accepted connection, TLS or not, is a {@link WatchedSocket}. */
    private Socket acceptWatched() throws IOException {
        WatchedSocket accepted = new WatchedSocket(clock);
        implAccept(accepted);
        try {
            accepted.accepted();
            return accepted;
        } catch (IOException | RuntimeException e) {
            accepted.close();
            throw e;
        }
    }

    @Override
    public boolean isClosed() {
        return closed.getCount() == 0;
    }

    @Override
    public void close() throws IOException {
        draining = true;
        try {
            super.close();
        } finally {
            closed.countDown();
        }
    }

    @Override
    public String toString() {
        return "ListeningSocket[" + super.toString() + "]";
    }
}
