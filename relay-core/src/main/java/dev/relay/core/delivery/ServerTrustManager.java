package dev.relay.core.delivery;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A trust manager of the delivery client, which checks the certificates of upstream servers only: the client side
 * never checks a client certificate, so every such check is refused here, once for the trust managers of this side.
 */
abstract class ServerTrustManager extends X509ExtendedTrustManager {
    private static final String CLIENT = "client certificates are not accepted here";

    @Override
    public final void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        throw new CertificateException(CLIENT);
    }

    @Override
    public final void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        throw new CertificateException(CLIENT);
    }

    @Override
    public final void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException(CLIENT);
    }
}
