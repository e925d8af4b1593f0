package dev.relay.server.receive.tls;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import javax.net.ssl.SSLSocket;

/**
 * A session's TLS socket whose streams send replies with {@link ReplyBatching}: what subethasmtp's session gets
 * after STARTTLS or from an implicit-TLS listener, so that its replies to a pipelined group share one TLS record.
 * Everything else is the real socket's ({@link DelegatingSslSocket} passes the calls on).
 *
 * <p>Only TLS sockets are wrapped: before STARTTLS the plain socket must send the {@code 220} at once, as the TLS
 * handshake that follows reads and writes the plain socket directly, and a plain listener is the loopback
 * sidecar case.
 */
public final class BatchingTlsSocket extends DelegatingSslSocket {
    private final Socket raw;
    private ReplyBatching streams;

    private BatchingTlsSocket(SSLSocket socket, Socket raw) {
        super(socket);
        this.raw = raw;
    }

    /**
     * {@code socket} with batched replies (a socket wrapped already is returned as it is).
     *
     * @param raw the plain TCP socket {@code socket} is layered over
     */
    public static SSLSocket wrap(SSLSocket socket, Socket raw) {
        return socket instanceof BatchingTlsSocket ? socket : new BatchingTlsSocket(socket, raw);
    }

    /**
     * The plain TCP socket under the TLS one. Closing it ends the connection at once, without the TLS close (which
     * waits for the TLS write lock, held for ever by a thread stuck writing to a client that does not read).
     */
    public Socket raw() {
        return raw;
    }

    private synchronized ReplyBatching streams() throws IOException {
        if (streams == null) {
            streams = new ReplyBatching(socket.getInputStream(), socket.getOutputStream());
        }
        return streams;
    }

    @Override
    public InputStream getInputStream() throws IOException {
        return streams().input();
    }

    @Override
    public OutputStream getOutputStream() throws IOException {
        return streams().output();
    }
}
