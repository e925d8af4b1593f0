package dev.relay.config;

/**
 * @param maskAddresses log mail addresses as {@code j***@example.com} (first character of the local part, then the
 *                      domain) for privacy; default false
 */
public record LoggingConfig(boolean maskAddresses) {
    public static LoggingConfig defaults() {
        return new LoggingConfig(false);
    }
}
