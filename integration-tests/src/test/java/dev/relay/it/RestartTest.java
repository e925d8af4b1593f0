package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.HostPort;
import dev.relay.config.RelayConfig;
import dev.relay.server.RelayServer;
import dev.relay.server.receive.tls.ServerTls;
import dev.relay.server.sink.CaptureSink;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A message acknowledged while the upstream is down survives a relay restart and is delivered afterwards. */
class RestartTest {
    @TempDir
    Path dir;

    private static long emlCount(Path outbox) throws Exception {
        if (!Files.isDirectory(outbox)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(outbox)) {
            return s.filter(p -> p.toString().endsWith(".eml")).count();
        }
    }

    @Test
    void queuedMessageIsDeliveredAfterRestartOnceTheUpstreamIsBack() throws Exception {
        TestRelay setup = new TestRelay(dir);
        int sinkPort = Loopback.freePort();
        RelayConfig config = setup.config("smtp://relay@127.0.0.1:" + sinkPort, "sink-secret", setup.cert,
                Duration.ofMillis(500));
        Path outbox = dir.resolve("outbox");

        try (RelayServer relay = RelayServer.start(config)) {
            Loopback.submit(setup.submissionPort, Loopback.Tls.STARTTLS, TestRelay.USER, TestRelay.PASSWORD,
                    "app@example.com", "b@example.org", "survives restart", "hello");
            // nothing listens on the upstream port: the attempt fails and the message is deferred, still queued
            await().atMost(Duration.ofSeconds(10)).until(() ->
                    relay.registry().get("relay.messages.deferred").counter().count() >= 1);
            assertThat(relay.queue().queued()).isEqualTo(1);
        }
        assertThat(emlCount(outbox)).isZero();

        try (CaptureSink sink = new CaptureSink(new HostPort(Loopback.HOST, sinkPort), outbox, "relay",
                "sink-secret", new ServerTls(setup.material))) {
            sink.start();
            try (RelayServer relay = RelayServer.start(config)) {
                await().atMost(Duration.ofSeconds(20)).until(() -> emlCount(outbox) == 1);
                await().atMost(Duration.ofSeconds(5)).until(() -> relay.queue().queued() == 0);
            }
        }
        try (Stream<Path> s = Files.list(outbox)) {
            assertThat(Files.readString(s.filter(p -> p.toString().endsWith(".eml")).findFirst().orElseThrow()))
                    .contains("Subject: survives restart");
        }
    }
}
