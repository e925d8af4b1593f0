package dev.relay.config;

import java.util.List;
import java.util.Objects;

/**
 * A valid configuration and what is allowed but unwise about it.
 *
 * @param config   the configuration
 * @param warnings messages to log at startup (e.g. a loopback listener without TLS); maybe empty
 */
public record LoadedConfig(RelayConfig config, List<String> warnings) {
    public LoadedConfig {
        Objects.requireNonNull(config, "config");
        warnings = warnings == null ? List.of() : List.copyOf(warnings);
    }
}
