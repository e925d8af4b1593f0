package dev.relay.core.delivery;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/** Loads trust: the JDK's default store and an optional PEM bundle of extra certificates. */
final class TrustBundle {
    private TrustBundle() {
    }

    /** The JDK's default trust manager (the system's cacerts, or what javax.net.ssl.trustStore names). */
    static X509ExtendedTrustManager systemDefault() throws GeneralSecurityException {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init((KeyStore) null);
        return extended(tmf.getTrustManagers());
    }

    /** A trust manager whose only anchors are {@code certs}. */
    static X509ExtendedTrustManager of(List<X509Certificate> certs) throws GeneralSecurityException, IOException {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        int i = 0;
        for (X509Certificate cert : certs) {
            ks.setCertificateEntry("bundle-" + i++, cert);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        return extended(tmf.getTrustManagers());
    }

    private static X509ExtendedTrustManager extended(TrustManager[] managers) throws GeneralSecurityException {
        for (TrustManager tm : managers) {
            if (tm instanceof X509ExtendedTrustManager x) {
                return x;
            }
        }
        throw new GeneralSecurityException("no X509ExtendedTrustManager available");
    }
}
