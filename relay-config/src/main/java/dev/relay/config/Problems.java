package dev.relay.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

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

    /**
     * The checks item {@code i} of a list of named items ({@code list}: listeners, upstreams) needs first: that it
     * is there ({@code empty} says what to set), and that it has a name ({@code example}) no item before it has
     * ({@code names}: the names so far, with their index). False if the item is missing: nothing more to check.
     */
    <T> boolean namedItem(String list, int i, T item, Function<T, String> name, Map<String, Integer> names,
                          String what, String example, String empty) {
        String at = list + "[" + i + "]";
        if (item == null) {
            missing(at, "this " + what + " is empty: set at least its " + empty);
            return false;
        }
        String n = name.apply(item);
        if (n == null || n.isBlank()) {
            missing(at + ".name", "every " + what + " needs a name, e.g. " + example);
        } else {
            Integer first = names.putIfAbsent(n, i);
            if (first != null) {
                error(at + ".name", n, "the name is already used by " + list + "[" + first + "]: give every " + what
                        + " its own name");
            }
        }
        return true;
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
