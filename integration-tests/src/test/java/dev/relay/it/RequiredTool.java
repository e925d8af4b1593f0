package dev.relay.it;

import static org.assertj.core.api.Assertions.fail;

import dev.relay.testkit.DkimVerifier;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * External programs some tests run (curl, promtool, dkimpy). Where one is missing the test is skipped, except under
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
        return missing(name + " is not installed (" + howToInstall + ")");
    }

    /** A python3 with dkimpy, the DKIM verifier ({@link DkimVerifier}); skips or fails as {@link #find} does. */
    static String dkimpy() throws InterruptedException {
        String python = DkimVerifier.python();
        return python != null ? python : missing(DkimVerifier.MISSING);
    }

    private static <T> T missing(String why) {
        if (onCi()) {
            fail("CI=true and " + why + ": .ci/run installs it, so this check must run here");
        }
        return Assumptions.abort(why);
    }

    static boolean onCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }
}
