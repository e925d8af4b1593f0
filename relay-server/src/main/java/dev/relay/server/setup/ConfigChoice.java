package dev.relay.server.setup;

import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The options that choose the configuration a command works on (a picocli mixin of {@code relay serve} and
 * {@code relay doctor}): {@code --config FILE}, else the {@code RELAY_*} environment variables, else with neither
 * the demo defaults kept under {@code --data-dir}.
 */
public final class ConfigChoice {
    public static final String DEFAULT_DATA_DIR = "relay-data";

    @Option(names = "--config", paramLabel = "FILE",
            description = "YAML configuration file (without it: the RELAY_* environment variables, if any).")
    Path config;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = DEFAULT_DATA_DIR,
            description = "With neither --config nor RELAY_* variables: where the demo defaults keep everything "
                    + "(default: ${DEFAULT-VALUE}).")
    Path dataDir;

    /** The choice picocli would make of {@code --config} (null: not given) and {@code --data-dir}. */
    public static ConfigChoice of(Path config, Path dataDir) {
        ConfigChoice choice = new ConfigChoice();
        choice.config = config;
        choice.dataDir = dataDir;
        return choice;
    }

    /** The configuration file given, or null. */
    public Path config() {
        return config;
    }

    public Path dataDir() {
        return dataDir;
    }

    /** Whether a configuration is given, by {@code --config} or a {@code RELAY_*} variable in {@code env}. */
    public boolean given(Map<String, String> env) {
        return config != null || ConfigSource.hasRelayVariables(env);
    }
}
