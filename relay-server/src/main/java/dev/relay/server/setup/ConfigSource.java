package dev.relay.server.setup;

import dev.relay.config.ConfigLoader;
import java.util.Map;

/** Where a command takes its configuration from when given no {@code --config}: the environment, or the demo. */
public final class ConfigSource {
    private ConfigSource() {
    }

    /**
     * Any RELAY_* variable that is not the launcher's or logging's means "configure from the environment": a
     * misspelt one is then reported by the loader instead of silently starting the demo.
     */
    public static boolean hasRelayVariables(Map<String, String> env) {
        return env.keySet().stream().anyMatch(k -> k.startsWith("RELAY_")
                && !ConfigLoader.NON_CONFIG_VARIABLES.contains(k));
    }
}
