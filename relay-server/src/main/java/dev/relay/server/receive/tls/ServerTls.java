package dev.relay.server.receive.tls;

import dev.relay.core.tls.KeyMaterial;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.GeneralSecurityException;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import org.subethamail.smtp.server.SSLSocketCreator;

/**
 * Server-side TLS for the SMTP listeners: TLS 1.2 and 1.3 only (the JDK's default suites for those are modern
 * AEAD suites), and no reverse DNS lookup of the client on STARTTLS (subethasmtp's own factory does one and
 * enables every protocol the JDK has).
 */
public final class ServerTls {
    static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private final SSLContext context;
    private final ServerCertificates certificates;

    /** A fixed certificate. */
    public ServerTls(KeyMaterial material) throws GeneralSecurityException, IOException {
        this(ServerCertificates.fixed(material));
    }

    /** The certificates of {@code certificates}, whichever they are at each handshake (reload, SNI). */
    public ServerTls(ServerCertificates certificates) throws GeneralSecurityException {
        this.certificates = certificates;
        context = SSLContext.getInstance("TLS");
        // the listeners never ask for client certificates: with null for the trust managers, the JDK would load the
        // system trust store (~100 ms at start) for nothing; with none, it uses a trust manager that refuses all
        context.init(new KeyManager[] {certificates.keyManager()}, new TrustManager[0], null);
    }

    /** When the first of the served certificates expires. */
    public java.time.Instant notAfter() {
        return certificates.notAfter();
    }

    public ServerCertificates certificates() {
        return certificates;
    }

    /**
     * For STARTTLS, and for implicit TLS (RFC 8314) from the first byte: layers the server side of a TLS connection
     * over an accepted plain socket (which the relay keeps, to close it directly: {@link BatchingTlsSocket#raw}).
     */
    public SSLSocketCreator startTls() {
        return (Socket socket) -> {
            InetSocketAddress remote = (InetSocketAddress) socket.getRemoteSocketAddress();
            SSLSocket s = (SSLSocket) context.getSocketFactory()
                    .createSocket(socket, remote.getHostString(), socket.getPort(), true);
            s.setUseClientMode(false);
            s.setEnabledProtocols(PROTOCOLS);
            return s;
        };
    }
}
