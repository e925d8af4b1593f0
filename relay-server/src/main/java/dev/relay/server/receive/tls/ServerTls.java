package dev.relay.server.receive.tls;

import dev.relay.core.tls.KeyMaterial;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;
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
        // the listeners never ask for client certificates: with no trust manager given, the JDK would load the
        // system trust store (~100 ms at start) for nothing
        context.init(new KeyManager[] {certificates.keyManager()}, new TrustManager[] {NO_CLIENT_CERTIFICATES}, null);
    }

    /** Refuses every client certificate (none is ever requested). */
    private static final X509ExtendedTrustManager NO_CLIENT_CERTIFICATES = new X509ExtendedTrustManager() {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            checkClientTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            checkClientTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("client certificates are not accepted here");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            checkServerTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            checkServerTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("a server context does not check server certificates");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    };

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
