package dev.relay.server.setup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.ConfigLoader;
import dev.relay.config.RelayConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PreflightHandoffTest {
    @TempDir
    Path dir;

    @Test
    void aHandoffTrustFileThatCannotBeReadIsAProblemAtStart() throws Exception {
        Path pw = Files.writeString(dir.resolve("pw"), "x\n");
        Path file = Files.writeString(dir.resolve("relay.yaml"), """
                listeners: [ { name: local, bind: "127.0.0.1:2700", tls: none } ]
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s" }
                upstreams: [ { name: primary, url: "smtp://127.0.0.1:2600", tls: none } ]
                handoff: { to: "smtps://peer.example:465", user: h, password-file: "%s", trust: "%s" }
                """.formatted(dir.resolve("spool"), pw, dir.resolve("missing-ca.crt")));
        RelayConfig config = ConfigLoader.load(file, Map.of()).config();

        assertThat(Preflight.problems(config)).singleElement().asString().startsWith("handoff.trust: ");
    }
}
