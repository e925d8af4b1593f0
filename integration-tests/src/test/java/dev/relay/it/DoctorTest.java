package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.HostPort;
import dev.relay.config.RelayConfig;
import dev.relay.server.doctor.DoctorCommand;
import dev.relay.server.receive.tls.ServerTls;
import dev.relay.server.sink.CaptureSink;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** `relay doctor` against a local upstream that works, one with a bad password, and one that refuses. */
class DoctorTest {
    @TempDir
    Path dir;

    TestRelay setup;
    int sinkPort;
    CaptureSink sink;

    @BeforeEach
    void startSink() throws Exception {
        setup = new TestRelay(dir);
        sinkPort = Loopback.freePort();
        sink = new CaptureSink(new HostPort(Loopback.HOST, sinkPort), dir.resolve("outbox"), "relay",
                "sink-secret", new ServerTls(setup.material));
        sink.start();
    }

    @AfterEach
    void stopSink() {
        sink.close();
    }

    private record Result(boolean ok, String output) {}

    private Result doctor(RelayConfig config, String... args) throws Exception {
        DoctorCommand cmd = new DoctorCommand();
        new CommandLine(cmd).parseArgs(args);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        boolean ok = cmd.run(config, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        return new Result(ok, bytes.toString(StandardCharsets.UTF_8));
    }

    @Test
    void workingUpstreamPassesEveryCheck() throws Exception {
        RelayConfig config = setup.config("smtp://relay@127.0.0.1:" + sinkPort, "sink-secret", setup.cert,
                Duration.ofSeconds(1));
        Result r = doctor(config, "--timeout", "PT5S");
        assertThat(r.ok()).as(r.output()).isTrue();
        // the test certificate is valid for a day: the TLS check passes with a warning about its expiry
        assertThat(r.output()).contains("WARN  tls", "expires soon");
        assertThat(r.output()).contains("OK    dns", "OK    tcp", "OK    greeting", "tls       TLSv1.3",
                "host name 127.0.0.1 matches", "OK    auth      authenticated as relay", "INFO  port-25",
                "verdict: OK").doesNotContain("sink-secret");
    }

    @Test
    void wrongPasswordFailsTheAuthCheckWithAFix() throws Exception {
        RelayConfig config = setup.config("smtp://relay@127.0.0.1:" + sinkPort, "wrong-secret", setup.cert,
                Duration.ofSeconds(1));
        Result r = doctor(config, "--timeout", "PT5S");
        assertThat(r.ok()).isFalse();
        assertThat(r.output()).contains("FAIL  auth      credentials refused: 535", "fix: check the user")
                .doesNotContain("wrong-secret");
    }

    @Test
    void untrustedCertificateFailsTheTlsCheck() throws Exception {
        Path otherCa = Files.writeString(dir.resolve("other.pem"), dev.relay.core.tls.Pem.encode(
                dev.relay.core.tls.SelfSignedCertificate.generate(java.util.List.of("127.0.0.1"), Duration.ofDays(1))
                        .leaf()));
        RelayConfig config = setup.config("smtp://relay@127.0.0.1:" + sinkPort, "sink-secret", otherCa,
                Duration.ofSeconds(1));
        Result r = doctor(config, "--timeout", "PT5S");
        assertThat(r.ok()).isFalse();
        assertThat(r.output()).contains("FAIL  tls", "upstreams[].trust");
    }

    @Test
    void refusedConnectionFailsTheTcpCheck() throws Exception {
        RelayConfig config = setup.config("smtp://relay@127.0.0.1:" + Loopback.freePort(), "sink-secret",
                setup.cert, Duration.ofSeconds(1));
        Result r = doctor(config, "--timeout", "PT5S");
        assertThat(r.ok()).isFalse();
        assertThat(r.output()).contains("FAIL  tcp", "refused", "fix: nothing listens there");
    }

    @Test
    void sendTestDeliversAMessageThroughTheUpstream() throws Exception {
        RelayConfig config = setup.config("smtp://relay@127.0.0.1:" + sinkPort, "sink-secret", setup.cert,
                Duration.ofSeconds(1));
        Result r = doctor(config, "--timeout", "PT5S", "--send-test", "ops@example.org", "--from",
                "relay@example.com");
        assertThat(r.ok()).as(r.output()).isTrue();
        assertThat(r.output()).contains("OK    send-test accepted for ops@example.org");
        try (Stream<Path> s = Files.list(dir.resolve("outbox"))) {
            assertThat(s.filter(p -> p.toString().endsWith(".eml")).toList()).hasSize(1);
        }
    }
}
