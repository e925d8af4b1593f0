package dev.relay.core.delivery;

import java.net.Socket;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts a server chain that any one of its delegates trusts: the system store or the configured PEM bundle.
 * Each delegate is a full PKIX trust manager, so each also checks the host name (endpoint identification) on the
 * engine it is given; nothing is trusted that no delegate accepted in full. Server certificates only.
 */
final class EitherTrustManager extends ServerTrustManager {
    private final List<X509ExtendedTrustManager> delegates;

    EitherTrustManager(List<X509ExtendedTrustManager> delegates) {
        if (delegates.isEmpty()) {
            throw new IllegalArgumentException("no trust manager");
        }
        this.delegates = List.copyOf(delegates);
    }

    private interface Check {
        void run(X509ExtendedTrustManager tm) throws CertificateException;
    }

    /**
     * Passes if one delegate passes. Otherwise throws the most telling refusal: one from a delegate that knew the
     * chain (a host name mismatch, an expired certificate) before "no path to a trust anchor", which every other
     * delegate will say.
     */
    private void anyOf(Check check) throws CertificateException {
        CertificateException best = null;
        for (X509ExtendedTrustManager tm : delegates) {
            try {
                check.run(tm);
                return;
            } catch (CertificateException e) {
                if (best == null || (isNoPath(best) && !isNoPath(e))) {
                    if (best != null) {
                        e.addSuppressed(best);
                    }
                    best = e;
                } else {
                    best.addSuppressed(e);
                }
            }
        }
        throw best;
    }

    private static boolean isNoPath(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof CertPathBuilderException) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        anyOf(tm -> tm.checkServerTrusted(chain, authType, engine));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        anyOf(tm -> tm.checkServerTrusted(chain, authType, socket));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        anyOf(tm -> tm.checkServerTrusted(chain, authType));
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return delegates.stream().flatMap(tm -> Arrays.stream(tm.getAcceptedIssuers()))
                .toArray(X509Certificate[]::new);
    }
}
