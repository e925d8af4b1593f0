package dev.relay.config;

/**
 * One port the relay accepts submissions on.
 *
 * @param name a unique name, for logs and metrics (e.g. {@code submission})
 * @param bind the address and port to listen on
 * @param tls  STARTTLS (default), implicit TLS, or none (loopback only)
 */
public record ListenerConfig(String name, HostPort bind, TlsMode tls) {
    public ListenerConfig {
        if (tls == null) {
            tls = TlsMode.STARTTLS;
        }
    }
}
