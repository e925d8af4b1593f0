package dev.relay.server.inbound;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.util.concurrent.CountDownLatch;

/**
 * The listening socket of one listener, closable on its own for a graceful stop. subethasmtp's
 * {@code SMTPServer.stop()} closes the listening socket and every session at once; this socket lets the relay close
 * only the listening part first ({@link #stopAccepting}: new connections are refused, so a load balancer moves
 * clients elsewhere) while the open sessions finish, and stop the server later. Until then the server's accept
 * thread waits here quietly instead of reporting the closed socket as an accept error once a second.
 *
 * <p>It holds the real socket and delegates to it what subethasmtp uses: bind, local port and address, accept,
 * close. An accepted TLS connection (implicit TLS) comes wrapped in a {@link BatchingTlsSocket}.
 */
final class ListeningSocket extends ServerSocket {
    private final ServerSocket socket;
    private final CountDownLatch closed = new CountDownLatch(1);
    private volatile boolean draining;

    /** @param socket the unbound socket to listen with (plain or TLS) */
    ListeningSocket(ServerSocket socket) throws IOException {
        this.socket = socket;
    }

    /** Closes the listening socket: connection attempts are refused from now on; open sessions are not touched. */
    void stopAccepting() throws IOException {
        draining = true;
        socket.close();
    }

    @Override
    public Socket accept() throws IOException {
        if (!draining) {
            try {
                Socket accepted = socket.accept();
                // implicit TLS: replies to a pipelined group in one TLS record
                return accepted instanceof javax.net.ssl.SSLSocket tls ? BatchingTlsSocket.wrap(tls) : accepted;
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

    @Override
    public void bind(SocketAddress endpoint, int backlog) throws IOException {
        socket.bind(endpoint, backlog);
    }

    @Override
    public void bind(SocketAddress endpoint) throws IOException {
        socket.bind(endpoint);
    }

    @Override
    public int getLocalPort() {
        return socket.getLocalPort();
    }

    @Override
    public InetAddress getInetAddress() {
        return socket.getInetAddress();
    }

    @Override
    public SocketAddress getLocalSocketAddress() {
        return socket.getLocalSocketAddress();
    }

    @Override
    public boolean isBound() {
        return socket.isBound();
    }

    @Override
    public boolean isClosed() {
        return closed.getCount() == 0;
    }

    @Override
    public void close() throws IOException {
        draining = true;
        try {
            socket.close();
            super.close();
        } finally {
            closed.countDown();
        }
    }

    @Override
    public String toString() {
        return "ListeningSocket[" + socket + "]";
    }
}
