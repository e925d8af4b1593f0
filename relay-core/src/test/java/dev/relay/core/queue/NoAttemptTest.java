package dev.relay.core.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.TlsMode;
import dev.relay.config.UpstreamAuth;
import dev.relay.config.UpstreamConfig;
import dev.relay.config.UpstreamUrl;
import dev.relay.core.delivery.NettyDeliveryEngine;
import dev.relay.core.delivery.UpstreamTarget;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.routing.CircuitListener;
import dev.relay.core.routing.CircuitState;
import dev.relay.core.routing.RoutingEngine;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.Spool;
import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deferrals where no attempt was made for a reason other than an open circuit, through the real routing engine and
 * the real Netty engine of one upstream, on a fake clock: the upstream's rate limit used up, and the engine closed
 * (a reload retired it, or the relay stops). Neither is an attempt: the count stays, the backoff does not grow, and
 * the circuit counts no failure. A used-up rate limit makes the message due when the limiter grants again, through
 * the scheduler's heap.
 */
class NoAttemptTest {
    private static final MailAddress SENDER = MailAddress.of("app@example.com");
    private static final Duration MIN_BACKOFF = Duration.ofMinutes(1);
    /** One message per 1,000 s: after the first, the next token is further than the pool waits (1 min). */
    private static final UpstreamTarget.Rate ONE_PER_1000_S = new UpstreamTarget.Rate(0.001, 0);

    @TempDir
    Path dir;

    final FakeClock clock = new FakeClock(Instant.parse("2026-11-01T00:00:00Z"));
    final Map<String, CircuitState> circuit = new ConcurrentHashMap<>();
    Spool spool;
    QueueManager q;
    RoutingEngine routing;

    /** A queue over the routing engine of one upstream at a port where nothing listens, with {@code rate}. */
    private void start(UpstreamTarget.Rate rate) throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        Duration two = Duration.ofSeconds(2);
        UpstreamTarget target = new UpstreamTarget("up", "127.0.0.1", closedPort, TlsMode.NONE, null, null, null,
                new UpstreamTarget.Timeouts(two, two, two, two, two), UpstreamTarget.Pool.DEFAULT, rate,
                UpstreamAuth.AUTO, null);
        routing = RoutingEngine.create(
                List.of(new UpstreamConfig("up", UpstreamUrl.parse("smtp://127.0.0.1:" + closedPort), null, null,
                        TlsMode.NONE, null)),
                List.of(), u -> new NettyDeliveryEngine(target), dir.resolve("work"), clock,
                (CircuitListener) circuit::put);
        spool = Spool.open(dir.resolve("spool"));
        q = new QueueManager(spool, routing, clock, new RetryPolicy(MIN_BACKOFF, Duration.ofHours(1),
                Duration.ofDays(5), () -> 0.0), 4, QueueListener.NONE, QueueManager.Bounces.logOnly(),
                QueueManager.DEFAULT_FAILED_RETENTION);
        q.start();
    }

    @AfterEach
    void stop() {
        if (q != null) {
            q.stop(Duration.ofSeconds(2));
        }
        if (routing != null) {
            routing.close();
        }
        if (spool != null) {
            spool.close();
        }
    }

    private QueueId submit(int i) throws Exception {
        return q.submit(SENDER, List.of(MailAddress.of("r" + i + "@y.org")), "app", new ByteArrayInputStream(
                ("Subject: m" + i + "\r\n\r\nbody\r\n").getBytes()));
    }

    private Envelope deferred(QueueId id) {
        return spool.peek(QueueState.DEFERRED, id).orElseThrow().envelope();
    }

    /** Waits until {@code id} is deferred with {@code attempts} recorded and due at or after {@code notBefore}. */
    private Envelope awaitDeferred(QueueId id, int attempts, Instant notBefore) {
        await().atMost(Duration.ofSeconds(10)).until(() -> spool.list(QueueState.DEFERRED).contains(id)
                && deferred(id).attempts() == attempts && !deferred(id).nextAttempt().isBefore(notBefore));
        return deferred(id);
    }

    @Test
    void aUsedUpRateLimitIsNoAttemptAndDefersUntilTheLimiterGrantsAgain() throws Exception {
        start(ONE_PER_1000_S);
        QueueId first = submit(0); // takes the token, and finds nothing listening: a real attempt
        awaitDeferred(first, 1, clock.instant());
        QueueId second = submit(1); // no token for 1,000 s
        Envelope e = awaitDeferred(second, 0, clock.instant());
        assertThat(e.nextAttempt()).as("due when the limiter grants again, not after the 1 min backoff")
                .isBetween(clock.instant().plusSeconds(990), clock.instant().plusSeconds(1000));
        assertThat(e.lastError()).contains("rate limit of upstream up reached");

        // due again: the pool's clock (real time) has not moved, so the limit still holds; it still counts nothing
        clock.advance(Duration.ofSeconds(1000));
        Instant now = clock.instant();
        q.wake();
        Envelope again = awaitDeferred(second, 0, now.plusSeconds(900));
        // at the next grant, or the one after when the first message waited in the pool beside it
        assertThat(again.nextAttempt()).isBetween(now.plusSeconds(900), now.plusSeconds(2000));
    }

    @Test
    void aUsedUpRateLimitDoesNotCountAsAFailureOfTheUpstream() throws Exception {
        start(ONE_PER_1000_S);
        for (int i = 0; i < 6; i++) { // one attempt (connection refused), then five that the rate limit stops
            submit(i);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> spool.list(QueueState.DEFERRED).size() == 6);
        // five failures open the circuit: only the one real attempt failed
        assertThat(circuit.get("up")).isEqualTo(CircuitState.CLOSED);
        assertThat(spool.list(QueueState.DEFERRED).stream().mapToInt(id -> deferred(id).attempts()).sum())
                .as("attempts recorded = attempts made").isEqualTo(1);
    }

    @Test
    void aClosedEngineIsNoAttemptAndGrowsNoBackoff() throws Exception {
        start(UpstreamTarget.Rate.UNLIMITED);
        routing.close(); // what a reload does to the engine it replaced, and a stop to the last one
        QueueId id = submit(0);
        Envelope e = awaitDeferred(id, 0, clock.instant());
        assertThat(e.nextAttempt()).as("due again shortly, not after the 1 min backoff")
                .isEqualTo(clock.instant().plus(Settle.NOT_ATTEMPTED_MIN_WAIT));
        assertThat(e.lastError()).contains("is closed");

        clock.advance(Settle.NOT_ATTEMPTED_MIN_WAIT);
        Instant now = clock.instant();
        q.wake();
        Envelope again = awaitDeferred(id, 0, now.plus(Settle.NOT_ATTEMPTED_MIN_WAIT));
        assertThat(again.nextAttempt()).isEqualTo(now.plus(Settle.NOT_ATTEMPTED_MIN_WAIT));
        assertThat(circuit.get("up")).isEqualTo(CircuitState.CLOSED);
    }
}
