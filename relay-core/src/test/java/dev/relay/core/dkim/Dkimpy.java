package dev.relay.core.dkim;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The independent verifier of the relay's signatures: Python's dkimpy (Debian {@code python3-dkim}, with
 * {@code python3-nacl} for Ed25519), run on a message with the public key record handed to it through its
 * {@code dnsfunc} argument, so no DNS is asked. Where it is missing the test is skipped, except under
 * {@code CI=true}, where it fails: {@code .ci/run} installs it.
 */
public final class Dkimpy {
    private static final String SCRIPT = """
            import sys, logging, dkim
            logging.basicConfig(stream=sys.stderr, level=logging.DEBUG)
            record = sys.argv[1].encode()
            asked = []
            def dns(name, timeout=5):
                asked.append(name.decode())
                return record
            ok = dkim.verify(sys.stdin.buffer.read(), logger=logging.getLogger("dkim"), dnsfunc=dns)
            print("asked=" + ",".join(asked))
            print("pass" if ok else "fail")
            """;

    /** What dkimpy said: whether the first signature verifies, the DNS names it asked for, and its log. */
    public record Verdict(boolean pass, String asked, String log) {
    }

    private Dkimpy() {
    }

    /** Verifies the first DKIM-Signature of {@code message} with the TXT record {@code record}. */
    public static Verdict verify(byte[] message, String record) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(python(), "-c", SCRIPT, record).redirectErrorStream(false).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(message);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("dkimpy did not finish");
        }
        String asked = out.lines().filter(l -> l.startsWith("asked=")).map(l -> l.substring(6)).findFirst()
                .orElse("");
        return new Verdict(out.lines().anyMatch("pass"::equals), asked, out + err);
    }

    /** A python3 that imports dkim and nacl: Debian's first (a pyenv on the PATH may lack them). */
    private static String python() throws IOException, InterruptedException {
        for (String candidate : List.of("/usr/bin/python3", "python3")) {
            if (candidate.startsWith("/") && !Files.isExecutable(Path.of(candidate))) {
                continue;
            }
            try {
                Process p = new ProcessBuilder(candidate, "-c", "import dkim, nacl").redirectErrorStream(true)
                        .start();
                p.getInputStream().readAllBytes();
                if (p.waitFor() == 0) {
                    return candidate;
                }
            } catch (IOException e) {
                // not this one
            }
        }
        String why = "no python3 with dkimpy and PyNaCl (apt-get install python3-dkim python3-nacl)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail("CI=true and " + why + ": .ci/run installs them, so the DKIM checks must run here");
        }
        Assumptions.abort(why);
        return null;
    }
}
