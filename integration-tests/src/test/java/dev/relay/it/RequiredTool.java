package dev.relay.it;

import static org.assertj.core.api.Assertions.fail;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * External programs some tests run (curl, promtool). Where one is missing the test is skipped, except under
 * {@code CI=true}: .ci/run installs them, so there a missing one fails the test rather than letting the check it
 * makes disappear without anyone noticing.
 */
final class RequiredTool {
    private RequiredTool() {}

    /** The program {@code name} on the PATH; skips the test (fails it under CI=true) when there is none. */
    static Path find(String name, String howToInstall) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
                return Path.of(dir, name);
            }
        }
        String why = name + " is not installed (" + howToInstall + ")";
        if (onCi()) {
            fail("CI=true and " + why + ": .ci/run installs it, so this check must run here");
        }
        return Assumptions.abort(why);
    }

    static boolean onCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }
}
