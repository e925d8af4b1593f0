package dev.relay.server.setup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.ConfigLoader;
import dev.relay.config.RelayConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HeapCheckTest {
    @TempDir
    Path dir;

    private RelayConfig config(int maxConnections) throws Exception {
        Path file = Files.writeString(dir.resolve("relay.yaml"), """
                listeners:
                  - { name: local, bind: "127.0.0.1:2700", tls: none }
                  - { name: submission, bind: "127.0.0.1:2701", tls: starttls }
                tls: { cert: /etc/relay/tls.crt, key: /etc/relay/tls.key }
                auth: { trusted-networks: ["127.0.0.1/32"], users-file: "%s" }
                spool: { dir: "%s" }
                limits: { max-connections: %d }
                upstreams: [ { name: primary, url: "smtp://127.0.0.1:2600", tls: none } ]
                """.formatted(dir.resolve("users"), dir.resolve("spool"), maxConnections));
        return ConfigLoader.load(file, Map.of()).config();
    }

    @Test
    void theNeedGrowsWithTheSessionsEachListenerAdmits() throws Exception {
        // 64 MiB for the relay, 16 KiB per plain session and 40 KiB per TLS session on each listener
        assertThat(HeapCheck.need(config(200))).isEqualTo((64L << 20) + 200L * (16 << 10) + 200L * (40 << 10));
        assertThat(HeapCheck.need(config(10_000))).isEqualTo((64L << 20) + 10_000L * (56 << 10));
    }

    @Test
    void aHeapThatHoldsTheSessionsGivesNoWarning() throws Exception {
        assertThat(HeapCheck.warning(config(200), 768L << 20)).isEmpty();
        assertThat(HeapCheck.summary(config(200), 768L << 20))
                .startsWith("memory: the heap may grow to 768 MiB (collectors ").endsWith("need about 75 MiB");
    }

    @Test
    void aHeapTooSmallForTheSessionsSaysWhatToChange() throws Exception {
        assertThat(HeapCheck.warning(config(10_000), 768L << 20)).isEmpty();
        assertThat(HeapCheck.warning(config(10_000), 256L << 20)).hasValueSatisfying(w -> assertThat(w).contains(
                "limits.max-connections (10000 sessions on each of 2 listeners) could need about 611 MiB of heap",
                "may grow to 256 MiB only", "RELAY_JAVA_OPTS=-Xmx611m", "or lower limits.max-connections"));
    }
}
