package dev.relay.core.dkim;

import dev.relay.config.DkimConfig;
import dev.relay.config.DkimConfig.Algorithm;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.time.InstantSource;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a DKIM signature costs the routing stage: the time per signature of a 2 KiB message, and the rate at which
 * a large message is read and hashed from a file (one pass, one buffer, whatever its size). Not part of {@code mvn
 * verify}: {@code mvn -B -ntp -o -pl relay-core -am -Pbench test -Dtest=DkimSignBenchmark
 * -Dsurefire.failIfNoSpecifiedTests=false} (size of the large message: {@code -Dbench.mib=256}).
 */
@Tag("benchmark")
class DkimSignBenchmark {
    @TempDir
    Path dir;

    @Test
    void signaturesPerSecondAndHashRate() throws Exception {
        long mib = Long.getLong("bench.mib", 256);
        String small = "From: a@example.org\r\nTo: b@example.net\r\nSubject: hello\r\n"
                + "Date: Fri, 04 Dec 2026 12:00:00 +0000\r\nMessage-ID: <x@example.org>\r\n\r\n"
                + "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n".repeat(36);
        Path big = dir.resolve("big.eml");
        try (OutputStream out = Files.newOutputStream(big)) {
            out.write("From: a@example.org\r\nSubject: big\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            byte[] line = "Lorem ipsum dolor sit amet,   consectetur adipiscing elit.  \r\n"
                    .getBytes(StandardCharsets.US_ASCII);
            for (long n = 0; n < mib * 1024 * 1024 / line.length; n++) {
                out.write(line);
            }
        }
        for (Algorithm a : Algorithm.values()) {
            KeyPairGenerator g = KeyPairGenerator.getInstance(a == Algorithm.RSA_SHA256 ? "RSA" : "Ed25519");
            if (a == Algorithm.RSA_SHA256) {
                g.initialize(2048);
            }
            Path key = Files.writeString(dir.resolve(a.key() + ".pem"), "-----BEGIN PRIVATE KEY-----\n"
                    + Base64.getMimeEncoder().encodeToString(g.generateKeyPair().getPrivate().getEncoded())
                    + "\n-----END PRIVATE KEY-----\n");
            DkimSigner signer = DkimSigner.load(new DkimConfig("example.org", "s1", key, a, List.of()),
                    InstantSource.system());
            byte[] message = small.getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < 2000; i++) { // warm-up
                signer.sign(new ByteArrayInputStream(message));
            }
            int n = 5000;
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                signer.sign(new ByteArrayInputStream(message));
            }
            long t1 = System.nanoTime();
            try (InputStream in = Files.newInputStream(big)) {
                signer.sign(in);
            }
            long t2 = System.nanoTime();
            System.out.printf(Locale.ROOT, "%s: %d-byte message %.0f us per signature; %d MiB message %.2f s "
                    + "(%.0f MiB/s)%n", a.key(), message.length, (t1 - t0) / 1e3 / n, Files.size(big) >> 20,
                    (t2 - t1) / 1e9, Files.size(big) / 1048576.0 / ((t2 - t1) / 1e9));
        }
    }
}
