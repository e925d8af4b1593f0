package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.ConfigLoader;
import dev.relay.config.HostPort;
import dev.relay.server.RelayServer;
import dev.relay.server.sink.CaptureSink;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A graceful stop (what SIGTERM runs) over real sockets: the listening socket closes first, idle sessions get
 * {@code 421 4.3.2}, a session in the middle of its data finishes it and gets its 250 (and the message is
 * delivered or stays queued), and a session that stalls is cut at the end of the grace period.
 */
class GracefulStopTest {
    @TempDir
    Path dir;
    int port;
    int implicitPort;
    CaptureSink sink;
    RelayServer relay;
    Path outbox;

    @BeforeEach
    void start() throws Exception {
        port = Loopback.freePort();
        implicitPort = Loopback.freePort();
        TestRelay tls = new TestRelay(dir);
        outbox = dir.resolve("outbox");
        sink = new CaptureSink(new HostPort(Loopback.HOST, Loopback.freePort()), outbox, null, null, null);
        sink.start();
        Path config = Files.writeString(dir.resolve("relay.yaml"), """
                listeners:
                  - { name: local, bind: "127.0.0.1:%d", tls: none }
                  - { name: submissions, bind: "127.0.0.1:%d", tls: implicit }
                tls: { cert: "%s", key: "%s" }
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s", min-free-space: 0 }
                upstreams:
                  - { name: sink, url: "smtp://127.0.0.1:%d", tls: none }
                admin: { bind: "127.0.0.1:%d" }
                """.formatted(port, implicitPort, tls.cert, tls.key, dir.resolve("spool"), sink.port(), Loopback.freePort()));
        relay = RelayServer.start(ConfigLoader.load(config, Map.of()).config());
    }

    @AfterEach
    void stop() {
        sink.close();
    }

    private RawSmtp inData(String subject) throws Exception {
        return inData(subject, false);
    }

    private RawSmtp inData(String subject, boolean implicitTls) throws Exception {
        RawSmtp c = new RawSmtp(Loopback.HOST, implicitTls ? implicitPort : port, implicitTls);
        assertThat(c.command("EHLO client.test")).startsWith("250");
        assertThat(c.command("MAIL FROM:<app@example.com>")).startsWith("250");
        assertThat(c.command("RCPT TO:<rcpt@example.org>")).startsWith("250");
        assertThat(c.command("DATA")).startsWith("354");
        c.send("Subject: " + subject + "\r\n\r\nfirst part of the body\r\n");
        return c;
    }

    private boolean refusesConnections() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(Loopback.HOST, port), 2000);
            return false;
        } catch (ConnectException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void aSessionInTheDataFinishesItsMessageWhileNewConnectionsAreRefusedAndIdleOnesClosed() throws Exception {
        Duration grace = Duration.ofSeconds(20);
        try (RawSmtp sending = inData("finished during the stop"); RawSmtp idle = new RawSmtp(Loopback.HOST, port,
                false); RawSmtp enveloped = new RawSmtp(Loopback.HOST, port, false);
             RawSmtp idleTls = new RawSmtp(Loopback.HOST, implicitPort, true)) {
            assertThat(idle.command("EHLO idle.test")).startsWith("250");
            assertThat(idleTls.command("EHLO idle.test")).startsWith("250");
            assertThat(enveloped.command("EHLO enveloped.test")).startsWith("250");
            assertThat(enveloped.command("MAIL FROM:<app@example.com>")).startsWith("250");
            long t0 = System.nanoTime();
            CompletableFuture<Void> stopping = CompletableFuture.runAsync(() -> relay.stop(grace));

            await().atMost(Duration.ofSeconds(5)).until(this::refusesConnections);
            assertThat(idle.reply()).isEqualTo("421 4.3.2 Service shutting down, try again later");
            assertThat(idle.reply()).as("the idle session is closed").isNull();
            assertThat(idleTls.reply()).isEqualTo("421 4.3.2 Service shutting down, try again later");
            assertThat(closed(idleTls)).as("the idle TLS session is closed").isTrue();
            assertThat(stopping).as("waits for the session in the data").isNotDone();
            assertThat(relay.listeners().get(0).isRunning()).as("unready: /readyz fails").isFalse();

            // a transaction begun before the stop goes on: recipients, then the data
            assertThat(enveloped.command("RCPT TO:<rcpt@example.org>")).startsWith("250 2.1.5");
            assertThat(enveloped.command("DATA")).startsWith("354");
            assertThat(enveloped.command("Subject: begun before the stop\r\n\r\nbody\r\n."))
                    .startsWith("250 2.0.0 Ok: queued as ");
            assertThat(enveloped.command("MAIL FROM:<app@example.com>")).as("but no new one")
                    .isEqualTo("421 4.3.2 Service shutting down, try again later");

            sending.send("second part, sent after the stop began\r\n.\r\n");
            String queued = sending.reply();
            assertThat(queued).startsWith("250 2.0.0 Ok: queued as ");
            assertThat(sending.reply()).as("then closed: no new transaction")
                    .isEqualTo("421 4.3.2 Service shutting down, try again later");
            assertThat(sending.reply()).isNull();

            stopping.get();
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            assertThat(took).as("the stop ends once the sessions have, not at the grace").isLessThan(grace);
            String id = queued.substring("250 2.0.0 Ok: queued as ".length());
            assertThat(deliveredOrQueued(id, "finished during the stop")).as("message %s", id).isTrue();
        }
    }

    @ParameterizedTest(name = "implicit TLS: {0}")
    @ValueSource(booleans = {false, true})
    void aSessionThatStallsInTheDataIsCutAtTheEndOfTheGraceAndTheStopEndsInTime(boolean implicitTls)
            throws Exception {
        Duration grace = Duration.ofSeconds(2);
        try (RawSmtp stalled = inData("never finished", implicitTls)) {
            long t0 = System.nanoTime();
            relay.stop(grace);
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            assertThat(took).as("waited for the session, then stopped within the grace")
                    .isBetween(Duration.ofSeconds(1), grace.plusSeconds(1));
            assertThat(closed(stalled)).as("the stalled session is closed").isTrue();
            assertThat(refusesConnections()).isTrue();
            assertThat(relay.registry().get("relay.messages.received").counter().count()).isZero();
        }
    }

    private static boolean closed(RawSmtp c) {
        try {
            return c.reply() == null;
        } catch (IOException e) {
            return true; // reset
        }
    }

    /** In the smarthost's outbox, or still in the spool for the next start. */
    private boolean deliveredOrQueued(String id, String subject) throws IOException {
        if (Files.isDirectory(outbox)) {
            try (Stream<Path> files = Files.list(outbox)) {
                for (Path f : files.toList()) {
                    if (Files.readString(f).contains("Subject: " + subject)) {
                        return true;
                    }
                }
            }
        }
        try (Stream<Path> files = Files.walk(dir.resolve("spool"))) {
            return files.anyMatch(f -> f.getFileName().toString().equals(id)
                    && !f.getParent().getFileName().toString().equals("data"));
        }
    }
}
