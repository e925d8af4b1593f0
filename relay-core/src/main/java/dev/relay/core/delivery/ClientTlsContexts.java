package dev.relay.core.delivery;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The client side of TLS towards an upstream: TLS 1.2 and 1.3 only, the chain verified against the system trust
 * store and the optional PEM bundle, the host name verified (RFC 6125 rules as for HTTPS, an IP literal against
 * the certificate's IP address SANs), SNI with the host name.
 */
final class ClientTlsContexts {
    static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private ClientTlsContexts() {
    }

    /**
     * A client context trusting the system store plus, when {@code trust} is not null, that PEM bundle. The bundle
     * is read now, so a broken one fails here; the context itself is built at the first handshake (see
     * {@link Lazy}).
     */
    static Lazy create(Path trust) throws IOException, GeneralSecurityException {
        return new Lazy(UpstreamTrust.trustManager(trust));
    }

    /**
     * A client context built at its first use. Building the first Netty JDK context initialises Netty's defaults,
     * which make a default JDK SSLContext and so read the system trust store: some 200 ms of CPU that the relay
     * spent before it was ready, for an upstream it may not deliver to for a while.
     */
    static final class Lazy {
        private final FirstUse<SslContext, RuntimeException> context;

        Lazy(X509ExtendedTrustManager trust) {
            this.context = new FirstUse<>(() -> {
                try {
                    return SslContextBuilder.forClient()
                            .sslProvider(SslProvider.JDK)
                            .protocols(PROTOCOLS)
                            .trustManager(trust)
                            .endpointIdentificationAlgorithm("HTTPS")
                            .build();
                } catch (SSLException e) {
                    throw new IllegalStateException("cannot set up TLS towards the upstream: " + e, e);
                }
            });
        }

        SslContext get() {
            return context.get();
        }
    }

    /**
     * A handler for one connection to {@code host:port}. Its own handshake timeout is off: the engine's step
     * timeouts cover the handshake.
     */
    static SslHandler newHandler(Lazy context, ByteBufAllocator alloc, String host, int port) {
        SslHandler handler = context.get().newHandler(alloc, host, port);
        SSLEngine engine = handler.engine();
        SSLParameters params = engine.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        params.setProtocols(PROTOCOLS);
        engine.setSSLParameters(params);
        handler.setHandshakeTimeoutMillis(0);
        return handler;
    }
}
