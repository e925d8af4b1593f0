package dev.relay.config;

/** @param bind where {@code /metrics}, {@code /healthz} and {@code /readyz} are served; default 127.0.0.1:9090 */
public record AdminConfig(HostPort bind) {
    public static final HostPort DEFAULT_BIND = new HostPort("127.0.0.1", 9090);

    public AdminConfig {
        if (bind == null) {
            bind = DEFAULT_BIND;
        }
    }

    public static AdminConfig defaults() {
        return new AdminConfig(DEFAULT_BIND);
    }
}
