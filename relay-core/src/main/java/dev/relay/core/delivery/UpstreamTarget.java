package dev.relay.core.delivery;

import dev.relay.config.TlsMode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * One smarthost as the delivery engine needs it: where, how protected, and with which credentials.
 *
 * @param name     the configured name, for logs and metrics
 * @param host     host name or address; also the name the certificate must carry
 * @param port     never 25
 * @param tls      STARTTLS (required, never a plaintext fallback), implicit TLS, or none (loopback only)
 * @param username AUTH user, or null for no AUTH
 * @param password AUTH password, or null
 * @param trust    an extra PEM CA bundle trusted besides the system trust store, or null
 * @param timeouts the per-step limits
 */
public record UpstreamTarget(String name, String host, int port, TlsMode tls, String username, String password,
                             Path trust, Timeouts timeouts) {
    public UpstreamTarget {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(timeouts, "timeouts");
        if (port == 25) {
            throw new IllegalArgumentException(
                    "port 25 is never used: use the provider's submission port 587, 465 or 2525");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
    }

    @Override
    public String toString() { // never the password
        return "UpstreamTarget[" + name + " " + host + ":" + port + " tls=" + tls.key()
                + (username == null ? "" : " user=" + username) + "]";
    }

    /** Per-step time limits; the defaults follow RFC 5321 section 4.5.3.2 where it gives one. */
    public record Timeouts(Duration connect, Duration greeting, Duration command, Duration dataBlock,
                           Duration dataEnd) {
        public static Timeouts rfc5321() {
            return new Timeouts(Duration.ofSeconds(30), Duration.ofMinutes(5), Duration.ofMinutes(5),
                    Duration.ofMinutes(3), Duration.ofMinutes(10));
        }
    }
}
