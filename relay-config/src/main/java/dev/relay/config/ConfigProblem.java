package dev.relay.config;

import java.util.Objects;

/**
 * One thing wrong with the configuration.
 *
 * @param key     where: a key path such as {@code upstreams[0].url}, an environment variable name, or a file name
 * @param value   the offending value as given, secrets replaced by {@code ****}; null when the key is missing
 * @param message what is wrong and how to fix it, in plain words
 */
public record ConfigProblem(String key, String value, String message) {
    public ConfigProblem {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(message, "message");
    }

    @Override
    public String toString() {
        return key + (value == null ? "" : " = '" + value + "'") + ": " + message;
    }
}
