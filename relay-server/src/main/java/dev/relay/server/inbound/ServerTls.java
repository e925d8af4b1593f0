package dev.relay.server.inbound;

import dev.relay.core.tls.KeyMaterial;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.subethamail.smtp.server.SSLSocketCreator;
import org.subethamail.smtp.server.ServerSocketCreator;

/**
 * Server-side TLS for the SMTP listeners: TLS 1.2 and 1.3 only (the JDK's default suites for those are modern
 * AEAD suites), and no reverse DNS lookup of the client on STARTTLS (subethasmtp's own factory does one and
 * enables every protocol the JDK has).
 */
public final class ServerTls {
    static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private final SSLContext context;
    private final java.time.Instant notAfter;

    public ServerTls(KeyMaterial material) throws GeneralSecurityException, IOException {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        char[] pass = "relay".toCharArray(); // in-memory store only
        ks.setKeyEntry("relay", material.key(), pass, material.chain().toArray(Certificate[]::new));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, pass);
        context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), null, null);
        notAfter = material.leaf().getNotAfter().toInstant();
    }

    /** When the served certificate expires. */
    public java.time.Instant notAfter() {
        return notAfter;
    }

    /** For STARTTLS: wraps the accepted plain socket as the server side of a TLS connection. */
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

    /** For implicit TLS (RFC 8314): an unbound server socket whose connections speak TLS from the first byte. */
    public ServerSocketCreator implicitTls() {
        return () -> {
            SSLServerSocket ss = (SSLServerSocket) context.getServerSocketFactory().createServerSocket();
            ss.setEnabledProtocols(PROTOCOLS);
            return ss;
        };
    }
}
