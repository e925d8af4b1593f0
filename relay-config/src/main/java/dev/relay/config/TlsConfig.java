package dev.relay.config;

import java.nio.file.Path;
import java.util.List;

/**
 * The server certificate of the listeners; both paths set, or neither. The files are not read here; the relay
 * reads them again when their content changes (certificate rotation without a restart).
 *
 * @param cert PEM certificate chain, or null
 * @param key  PEM private key, or null
 * @param sni  further certificates chosen by the name the client asks for (TLS SNI); {@code cert} and {@code key}
 *             are served when no name matches or the client sends none; empty by default
 */
public record TlsConfig(Path cert, Path key, List<SniCertificate> sni) {
    /**
     * One certificate served for the names a client may ask for.
     *
     * @param names host names ({@code mail.example.com}) or wildcards for one label ({@code *.example.org})
     */
    public record SniCertificate(List<String> names, Path cert, Path key) {
        public SniCertificate {
            names = names == null ? List.of() : List.copyOf(names);
        }
    }

    public TlsConfig {
        sni = sni == null ? List.of() : List.copyOf(sni);
    }

    public TlsConfig(Path cert, Path key) {
        this(cert, key, List.of());
    }

    /** No certificate: only {@code tls: none} listeners are possible. */
    public static TlsConfig none() {
        return new TlsConfig(null, null);
    }

    /** True if both the certificate and the key are set. */
    public boolean isConfigured() {
        return cert != null && key != null;
    }
}
