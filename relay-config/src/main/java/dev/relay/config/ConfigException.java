package dev.relay.config;

import java.util.List;
import java.util.stream.Collectors;

/** The configuration is invalid; {@link #problems()} lists every problem found, not only the first. */
public final class ConfigException extends RuntimeException {
    private final transient List<ConfigProblem> problems;

    public ConfigException(List<ConfigProblem> problems) {
        super(format(problems));
        if (problems.isEmpty()) {
            throw new IllegalArgumentException("a ConfigException needs at least one problem");
        }
        this.problems = List.copyOf(problems);
    }

    public ConfigException(ConfigProblem problem) {
        this(List.of(problem));
    }

    /** Every problem, in the order found; never empty. */
    public List<ConfigProblem> problems() {
        return problems;
    }

    private static String format(List<ConfigProblem> problems) {
        String header = problems.size() == 1
                ? "invalid configuration (1 problem):"
                : "invalid configuration (" + problems.size() + " problems):";
        return problems.stream().map(p -> "  - " + p).collect(Collectors.joining("\n", header + "\n", ""));
    }
}
