package dev.relay.core.delivery;

import dev.relay.core.tls.Pem;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The trust the delivery engine applies to an upstream's certificate chain, for other code that must judge an
 * upstream exactly as delivery will (the {@code relay doctor} checks): the system trust store, plus the
 * upstream's optional PEM bundle.
 */
public final class UpstreamTrust {
    /** The TLS protocol versions used towards upstreams. */
    public static final List<String> PROTOCOLS = List.of(ClientTlsContexts.PROTOCOLS);

    private UpstreamTrust() {}

    /**
     * Trusts a chain that the system store or, when {@code trust} is not null, that PEM bundle trusts. The bundle
     * is read now (a broken one stops the start); the system store at the first handshake that consults it.
     */
    public static X509ExtendedTrustManager trustManager(Path trust) throws IOException, GeneralSecurityException {
        List<X509ExtendedTrustManager> managers = new ArrayList<>(2);
        managers.add(new LazyTrustManager("the system trust store", TrustBundle::systemDefault));
        if (trust != null) {
            managers.add(TrustBundle.of(Pem.readCertificates(trust)));
        }
        return new EitherTrustManager(managers);
    }
}
