package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.HostPort;
import dev.relay.config.ConfigLoader;
import dev.relay.server.RelayServer;
import dev.relay.server.sink.CaptureSink;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A configuration reload (what SIGHUP runs, and a change of the file) applies new limits to sessions that are
 * already open, from their next transaction on; an invalid file changes nothing.
 */
class ConfigReloadTest {
    @TempDir
    Path dir;
    int port;
    int sinkPort;
    int adminPort;
    Path file;

    private void write(String limits) throws Exception {
        Files.writeString(file, """
                listeners:
                  - { name: local, bind: "127.0.0.1:%d", tls: none }
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s", min-free-space: 0 }
                upstreams:
                  - { name: sink, url: "smtp://127.0.0.1:%d", tls: none }
                admin: { bind: "127.0.0.1:%d" }
                limits: { %s }
                """.formatted(port, dir.resolve("spool"), sinkPort, adminPort, limits));
    }

    /** One transaction of {@code size} bytes of body on the open session; the final reply. */
    private static String send(RawSmtp c, int size) throws Exception {
        assertThat(c.command("MAIL FROM:<app@example.com>")).startsWith("250");
        assertThat(c.command("RCPT TO:<rcpt@example.org>")).startsWith("250");
        assertThat(c.command("DATA")).startsWith("354");
        c.send("Subject: reload\r\n\r\n" + ("x".repeat(98) + "\r\n").repeat(size / 100) + ".\r\n");
        return c.reply();
    }

    private static double reloads(RelayServer relay, String result) {
        return relay.registry().get("relay.config.reloads").tag("result", result).counter().count();
    }

    @Test
    void anOpenSessionsNextTransactionUsesTheReloadedLimitAndAnInvalidFileKeepsIt() throws Exception {
        port = Loopback.freePort();
        sinkPort = Loopback.freePort();
        adminPort = Loopback.freePort();
        file = dir.resolve("relay.yaml");
        write("max-message-size: 2KiB");
        try (CaptureSink sink = new CaptureSink(new HostPort(Loopback.HOST, sinkPort), dir.resolve("outbox"), null,
                null, null);
             RelayServer relay = RelayServer.start(ConfigLoader.load(file, Map.of()).config(), file, Map.of());
             RawSmtp session = new RawSmtp(Loopback.HOST, port, false)) {
            sink.start();
            assertThat(session.command("EHLO client.test")).contains("SIZE 2048");
            assertThat(send(session, 5_000)).isEqualTo("552 5.3.4 Message size exceeds fixed limit");

            write("max-message-size: 8KiB");
            relay.reload();

            assertThat(send(session, 5_000)).as("the same session, its next transaction")
                    .startsWith("250 2.0.0 Ok: queued as");
            assertThat(send(session, 10_000)).startsWith("552 5.3.4");
            assertThat(reloads(relay, "ok")).isGreaterThanOrEqualTo(1);

            write("max-message-size: lots");
            relay.reload();

            assertThat(reloads(relay, "failed")).isGreaterThanOrEqualTo(1);
            assertThat(send(session, 5_000)).as("the last valid limit stays").startsWith("250 2.0.0 Ok: queued as");
            assertThat(send(session, 10_000)).startsWith("552 5.3.4");

            double ok = reloads(relay, "ok");
            write("max-message-size: 16KiB");
            await().atMost(Duration.ofSeconds(15)).until(() -> reloads(relay, "ok") > ok); // the file watch
            assertThat(send(session, 10_000)).startsWith("250 2.0.0 Ok: queued as");
            assertThat(session.command("EHLO client.test")).contains("SIZE 16384");
        }
    }

    @Test
    void reloadedUpstreamsTakeTheNextMessageWithoutDroppingTheSession() throws Exception {
        port = Loopback.freePort();
        sinkPort = Loopback.freePort();
        adminPort = Loopback.freePort();
        int newSinkPort = Loopback.freePort();
        file = dir.resolve("relay.yaml");
        write("max-message-size: 64KiB");
        try (CaptureSink old = new CaptureSink(new HostPort(Loopback.HOST, sinkPort), dir.resolve("old"), null, null,
                null);
             CaptureSink replacement = new CaptureSink(new HostPort(Loopback.HOST, newSinkPort), dir.resolve("new"),
                     null, null, null);
             RelayServer relay = RelayServer.start(ConfigLoader.load(file, Map.of()).config(), file, Map.of());
             RawSmtp session = new RawSmtp(Loopback.HOST, port, false)) {
            old.start();
            replacement.start();
            session.command("EHLO client.test");
            assertThat(send(session, 500)).startsWith("250");
            await().atMost(Duration.ofSeconds(10)).until(() -> old.count() == 1);

            sinkPort = newSinkPort; // the same upstream name, a new address
            write("max-message-size: 64KiB");
            relay.reload();

            assertThat(send(session, 500)).startsWith("250");
            await().atMost(Duration.ofSeconds(10)).until(() -> replacement.count() == 1);
            assertThat(old.count()).isEqualTo(1);
        }
    }
}
