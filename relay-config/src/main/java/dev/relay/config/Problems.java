package dev.relay.config;

import java.util.ArrayList;
import java.util.List;

/** Collects every error and warning of one validation pass. */
final class Problems {
    static final String MASK = "****";

    private final List<ConfigProblem> errors = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();

    void error(String key, String value, String message) {
        errors.add(new ConfigProblem(key, value, message));
    }

    /**
     * A missing value: skipped when a related key already has a problem (the value was given but did not parse):
     * the key itself, a parent, a child, or the {@code -file} form of a secret.
     */
    void missing(String key, String message) {
        if (errors.stream().map(ConfigProblem::key).noneMatch(k -> related(key, k))) {
            errors.add(new ConfigProblem(key, null, message));
        }
    }

    private static boolean related(String key, String other) {
        return other.equals(key) || other.equals(key + Schema.FILE_SUFFIX)
                || isUnder(key, other) || isUnder(other, key);
    }

    private static boolean isUnder(String child, String parent) {
        return child.startsWith(parent + ".") || child.startsWith(parent + "[");
    }

    void warn(String message) {
        warnings.add(message);
    }

    boolean hasErrorAt(String key) {
        return errors.stream().anyMatch(p -> p.key().equals(key));
    }

    void addAll(Problems other) {
        for (ConfigProblem p : other.errors) {
            if (!errors.contains(p)) {
                errors.add(p);
            }
        }
        for (String w : other.warnings) {
            if (!warnings.contains(w)) {
                warnings.add(w);
            }
        }
    }

    List<ConfigProblem> errors() {
        return List.copyOf(errors);
    }

    List<String> warnings() {
        return List.copyOf(warnings);
    }

    void throwIfErrors() {
        if (!errors.isEmpty()) {
            throw new ConfigException(errors);
        }
    }
}
