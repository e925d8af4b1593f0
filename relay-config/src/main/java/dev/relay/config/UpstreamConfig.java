package dev.relay.config;

import java.nio.file.Path;

/**
 * One smarthost the relay delivers through. The values are the effective ones: {@code username} falls back to
 * the user in the URL, {@code tls} to the URL's scheme, and {@code password} is the secret itself (already read
 * from its file if it was given as {@code password-file}). {@link #toString()} never shows the password.
 *
 * @param name     a unique name, for logs and metrics
 * @param url      where: scheme, host, port and optionally the user
 * @param username AUTH user, or null for no AUTH
 * @param password AUTH password (required with a username), or null
 * @param tls      how the connection is protected; default from the scheme
 * @param trust    an extra PEM CA bundle (not read here), or null
 */
public record UpstreamConfig(String name, UpstreamUrl url, String username, String password, TlsMode tls,
                             Path trust) {
    public UpstreamConfig {
        if (username == null && url != null) {
            username = url.username();
        }
        if (tls == null && url != null) {
            tls = url.defaultTls();
        }
    }

    /** The smarthost's host, or null if no URL is set. */
    public String host() {
        return url == null ? null : url.host();
    }

    /** The smarthost's port, or 0 if no URL is set. */
    public int port() {
        return url == null ? 0 : url.port();
    }

    @Override
    public String toString() {
        return "UpstreamConfig[name=" + name + ", url=" + url + ", username=" + username
                + ", password=" + (password == null ? "null" : Problems.MASK) + ", tls=" + (tls == null ? null : tls.key())
                + ", trust=" + trust + "]";
    }
}
