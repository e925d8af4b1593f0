package dev.relay.config;

/**
 * @param bind  where {@code /metrics}, {@code /healthz}, {@code /readyz} and the queue API {@code /api/queue} are
 *              served; default 127.0.0.1:9090
 * @param token the bearer token the queue API requires; required when {@code bind} is not a loopback address,
 *              optional (null) on loopback
 */
public record AdminConfig(HostPort bind, String token) {
    public static final HostPort DEFAULT_BIND = new HostPort("127.0.0.1", 9090);

    public AdminConfig {
        if (bind == null) {
            bind = DEFAULT_BIND;
        }
        if (token != null && token.isEmpty()) {
            token = null;
        }
    }

    /** The previous form: no token. */
    public AdminConfig(HostPort bind) {
        this(bind, null);
    }

    public static AdminConfig defaults() {
        return new AdminConfig(DEFAULT_BIND, null);
    }

    @Override
    public String toString() { // never print the token
        return "AdminConfig[bind=" + bind + ", token=" + (token == null ? "none" : Problems.MASK) + "]";
    }
}
