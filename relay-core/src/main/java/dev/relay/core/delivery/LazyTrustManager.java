package dev.relay.core.delivery;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A trust manager made at its first use. The system trust store (some 150 certificates in a PKCS#12 file) is
 * then read when the first upstream handshake needs it rather than at start, where it was 100 ms of CPU before
 * the relay was ready, also for configurations that never use it. A store that cannot be loaded fails each
 * handshake that needs it (as an untrusted certificate, with the reason) instead of the start. It checks server
 * certificates only (it stands in {@link EitherTrustManager}).
 */
final class LazyTrustManager extends ServerTrustManager {
    interface Loader {
        X509ExtendedTrustManager load() throws GeneralSecurityException;
    }

    private final FirstUse<X509ExtendedTrustManager, CertificateException> delegate;

    LazyTrustManager(String what, Loader loader) {
        this.delegate = new FirstUse<>(() -> {
            try {
                return loader.load();
            } catch (GeneralSecurityException | RuntimeException e) {
                throw new CertificateException("cannot load " + what + ": " + e.getMessage(), e);
            }
        });
    }

    /** The trust manager, loaded now if this is the first use; a failure is tried again at the next use. */
    X509ExtendedTrustManager delegate() throws CertificateException {
        return delegate.get();
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        delegate().checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        delegate().checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        delegate().checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        try {
            return delegate().getAcceptedIssuers();
        } catch (CertificateException e) {
            return new X509Certificate[0];
        }
    }
}
