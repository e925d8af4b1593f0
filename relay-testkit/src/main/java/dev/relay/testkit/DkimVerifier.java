package dev.relay.testkit;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The independent verifier of the relay's DKIM signatures: Python's dkimpy (Debian {@code python3-dkim}, with
 * {@code python3-nacl} for Ed25519), run on a message with the public key record handed to it through its
 * {@code dnsfunc} argument, so no DNS is asked. Whether a test skips or fails without it is the test's to say
 * ({@link #python} is null then; under {@code CI=true} it must fail: {@code .ci/run} installs it).
 */
public final class DkimVerifier {
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
    /** How to get the verifier, for the message of a skipped or failed test. */
    public static final String MISSING = "no python3 with dkimpy and PyNaCl (apt-get install python3-dkim "
            + "python3-nacl)";

    /** What dkimpy said: whether the first signature verifies, the DNS names it asked for, and its log. */
    public record Verdict(boolean pass, String asked, String log) {
    }

    private DkimVerifier() {
    }

    /** A python3 that imports dkim and nacl, Debian's first (a pyenv on the PATH may lack them); null if none. */
    public static String python() throws InterruptedException {
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
        return null;
    }

    /** Verifies the first DKIM-Signature of {@code message} with the TXT record {@code record}. */
    public static Verdict verify(String python, byte[] message, String record) throws IOException,
            InterruptedException {
        Process p = new ProcessBuilder(python, "-c", SCRIPT, record).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(message);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("dkimpy did not finish within 60 s");
        }
        String asked = out.lines().filter(l -> l.startsWith("asked=")).map(l -> l.substring(6)).findFirst()
                .orElse("");
        return new Verdict(out.lines().anyMatch("pass"::equals), asked, out + err);
    }
}
