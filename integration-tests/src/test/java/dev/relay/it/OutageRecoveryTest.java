package dev.relay.it;

import dev.relay.testkit.TestUpstream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.ConfigLoader;
import dev.relay.core.queue.QueueAdmin;
import dev.relay.core.spool.QueueState;
import dev.relay.server.RelayServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An upstream outage end to end: nothing listens on the upstream's port while {@value #MESSAGES} messages are
 * queued (five refused connections open its circuit for 30 s), then a smarthost comes up on that port. Mail that
 * bounced off the open circuit was never attempted: its attempts do not grow during the outage, and the first
 * successful probe releases all of it at once. The figures printed here are the ones docs/reliability.md reports.
 */
class OutageRecoveryTest {
    static final int MESSAGES = 40;
    /** The upstream's rate limit: the release must respect it, and it bounds the drain (40 at 50/s: 0.8 s). */
    static final int RATE = 50;
    /** From the first delivery (the probe) to the last one. The old behaviour took minutes here. */
    static final Duration DRAIN_BOUND = Duration.ofSeconds(5);

    @TempDir
    Path dir;

    RelayServer relay;
    TestUpstream fake;

    @AfterEach
    void stop() throws Exception {
        if (relay != null) {
            relay.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    private List<QueueAdmin.Message> deferred() throws Exception {
        return relay.queue().admin().list(new QueueAdmin.Filter(Set.of(QueueState.DEFERRED), null, null, null));
    }

    /** The messages waiting or being delivered (a message moving between two states may be missed). */
    private List<QueueAdmin.Message> queued() throws Exception {
        return relay.queue().admin().list(new QueueAdmin.Filter(
                Set.of(QueueState.INCOMING, QueueState.ACTIVE, QueueState.DEFERRED), null, null, null));
    }

    private int attempts() throws Exception {
        return queued().stream().mapToInt(QueueAdmin.Message::attempts).sum();
    }

    private double circuit() {
        return relay.registry().get("relay.upstream.circuit.state").tag("upstream", "smarthost").gauge().value();
    }

    @Test
    void afterAnOutageEveryQueuedMessageIsDeliveredWithinSecondsOfTheFirstSuccessfulProbe() throws Exception {
        TestRelay setup = new TestRelay(dir);
        int upstreamPort = Loopback.freePort(); // nothing listens there yet: the upstream is down
        int submission = Loopback.freePort();
        Files.writeString(dir.resolve("upstream-password"), "upstream-secret\n");
        String yaml = """
                hostname: relay.test
                listeners:
                  - { name: local, bind: "127.0.0.1:%d", tls: none }
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s", min-free-space: 0 }
                queue: { min-backoff: 1s, max-backoff: 2m, max-lifetime: 1h }
                upstreams:
                  - name: smarthost
                    url: "smtp://relay@127.0.0.1:%d"
                    password-file: "%s"
                    trust: "%s"
                    rate: { per-second: %d }
                    timeouts: { connect: 2s, greeting: 2s, command: 2s, data-block: 2s, data-end: 2s }
                admin: { bind: "127.0.0.1:%d" }
                """.formatted(submission, dir.resolve("spool"), upstreamPort, dir.resolve("upstream-password"),
                setup.cert, RATE, Loopback.freePort());
        relay = RelayServer.start(ConfigLoader.load(Files.writeString(dir.resolve("relay.yaml"), yaml), Map.of())
                .config());

        for (int i = 0; i < MESSAGES; i++) {
            try (RawSmtp c = new RawSmtp(Loopback.HOST, submission, false)) {
                c.command("EHLO client.test");
                assertThat(c.command("MAIL FROM:<app@example.com>")).startsWith("250");
                assertThat(c.command("RCPT TO:<r" + i + "@example.net>")).startsWith("250");
                assertThat(c.command("DATA")).startsWith("354");
                assertThat(c.command("Subject: outage " + i + "\r\n\r\nhello\r\n.")).startsWith("250 2.0.0");
            }
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> deferred().size() == MESSAGES);
        assertThat(circuit()).as("the circuit is open").isEqualTo(2.0);

        // the outage goes on: the old code counted every bounce off the open circuit as an attempt and doubled
        // the message's backoff (1 s, 2 s, 4 s, ...). Now only real attempts count: those that opened the circuit
        // (deliveries run in parallel, so more than five may have been on their way), and at most one failed probe
        // in this window (the cool-down is 30 s)
        int before = attempts();
        await().during(Duration.ofSeconds(12)).atMost(Duration.ofSeconds(20)).until(() -> attempts() <= before + 1
                && queued().stream().allMatch(m -> m.attempts() <= 2));
        System.out.printf("outage: attempts recorded %d when the circuit opened, %d after the outage%n", before,
                attempts());

        AtomicLong firstNanos = new AtomicLong();
        fake = TestUpstream.withStartTls(upstreamPort, UpstreamTls.context(setup.material), (n, c) -> c.serve());
        long back = System.nanoTime();
        await().atMost(Duration.ofSeconds(45)).pollInterval(Duration.ofMillis(20)).until(() -> {
            if (!fake.mails().isEmpty()) {
                firstNanos.compareAndSet(0, System.nanoTime());
                return true;
            }
            return false;
        });
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(20))
                .until(() -> fake.mails().size() >= MESSAGES);
        long last = System.nanoTime();
        Duration probe = Duration.ofNanos(firstNanos.get() - back);
        Duration drain = Duration.ofNanos(last - firstNanos.get());
        System.out.printf("outage recovery: %d messages; upstream back -> first delivery (probe) %d ms; "
                        + "first -> last delivery %d ms; upstream back -> last delivery %d ms%n", MESSAGES,
                probe.toMillis(), drain.toMillis(), Duration.ofNanos(last - back).toMillis());

        await().atMost(Duration.ofSeconds(10)).until(() -> relay.queue().queued() == 0);
        assertThat(fake.mails().stream().flatMap(m -> m.to().stream()).distinct().count())
                .as("every message delivered, once").isEqualTo(MESSAGES);
        assertThat(fake.mails()).hasSize(MESSAGES);
        assertThat(drain).as("all delivered within seconds of the first successful probe").isLessThan(DRAIN_BOUND);
        assertThat(circuit()).as("the circuit is closed").isZero();
    }
}
