package dev.relay.config;

import java.nio.file.Path;

/**
 * The server certificate of the listeners; both paths set, or neither. The files are not read here.
 *
 * @param cert PEM certificate chain, or null
 * @param key  PEM private key, or null
 */
public record TlsConfig(Path cert, Path key) {
    /** No certificate: only {@code tls: none} listeners are possible. */
    public static TlsConfig none() {
        return new TlsConfig(null, null);
    }

    /** True if both the certificate and the key are set. */
    public boolean isConfigured() {
        return cert != null && key != null;
    }
}
