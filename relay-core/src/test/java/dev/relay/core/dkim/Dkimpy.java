package dev.relay.core.dkim;

import static org.junit.jupiter.api.Assertions.fail;

import dev.relay.testkit.DkimVerifier;
import org.junit.jupiter.api.Assumptions;

/** {@link DkimVerifier} for relay-core's tests: skipped where dkimpy is missing, failed under {@code CI=true}. */
public final class Dkimpy {
    private Dkimpy() {
    }

    /** Verifies the first DKIM-Signature of {@code message} with the TXT record {@code record}. */
    public static DkimVerifier.Verdict verify(byte[] message, String record) throws Exception {
        String python = DkimVerifier.python();
        if (python == null && "true".equalsIgnoreCase(System.getenv("CI"))) {
            fail("CI=true and " + DkimVerifier.MISSING + ": .ci/run installs them, so the DKIM checks must run here");
        }
        Assumptions.assumeTrue(python != null, DkimVerifier.MISSING);
        return DkimVerifier.verify(python, message, record);
    }
}
