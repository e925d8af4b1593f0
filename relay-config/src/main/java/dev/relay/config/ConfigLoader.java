package dev.relay.config;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Loads the configuration: an optional YAML file, then every {@code RELAY_*} environment variable on top of it,
 * then every {@code *-file} secret, then the validation rules. All problems are reported together.
 */
public final class ConfigLoader {
    /** {@code RELAY_*} variables of the launcher and the logging: never configuration keys, never errors. */
    public static final Set<String> NON_CONFIG_VARIABLES = EnvOverlay.NOT_CONFIG;

    private ConfigLoader() {
    }

    /**
     * @param yamlFileOrNull the YAML file, or null to configure from the environment alone
     * @param env            the environment ({@code System.getenv()} in production)
     * @return the valid configuration and its warnings
     * @throws ConfigException listing every problem: an unreadable file or a YAML syntax error (with the line),
     *                         unknown keys or variables, values that do not parse, broken rules
     */
    public static LoadedConfig load(Path yamlFileOrNull, Map<String, String> env) {
        Objects.requireNonNull(env, "env");
        Node.MapNode root = yamlFileOrNull == null ? new Node.MapNode("environment")
                : YamlReader.read(yamlFileOrNull);
        Problems problems = new Problems();
        TreeChecker.check(root, problems);
        EnvOverlay.apply(env, root, problems);
        return Binder.bind(root, problems);
    }

    /**
     * True if a {@code RELAY_*} variable that maps to a configuration key is set (launcher variables such as
     * {@code RELAY_JAVA_OPTS} do not count, and neither do names that map to no key).
     */
    public static boolean hasEnvironmentConfig(Map<String, String> env) {
        return EnvOverlay.relevant(env).keySet().stream().anyMatch(EnvOverlay::maps);
    }
}
