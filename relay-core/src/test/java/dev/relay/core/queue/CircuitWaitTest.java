package dev.relay.core.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.TlsMode;
import dev.relay.config.UpstreamConfig;
import dev.relay.config.UpstreamUrl;
import dev.relay.core.delivery.DeliveryEngine;
import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.routing.CircuitListener;
import dev.relay.core.routing.CircuitState;
import dev.relay.core.routing.RoutingEngine;
import dev.relay.core.spool.Body;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.Spool;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An upstream outage through the real routing engine and its circuit breaker (5 failures open it for 30 s), driven
 * by a fake clock: mail that bounces off an open circuit is not attempted, so its attempts and backoff do not grow;
 * it waits for the circuit, and goes the moment a probe closes it or an operator retries.
 */
class CircuitWaitTest {
    private static final MailAddress SENDER = MailAddress.of("app@example.com");
    private static final int MESSAGES = 20;

    @TempDir
    Path dir;

    final FakeClock clock = new FakeClock(Instant.parse("2026-11-01T00:00:00Z"));
    Spool spool;
    QueueManager q;
    RoutingEngine routing;

    /** The single upstream: refuses connections while down, accepts everything while up; counts real attempts. */
    static final class Upstream implements DeliveryEngine {
        volatile boolean up;
        final AtomicInteger attempts = new AtomicInteger();
        final AtomicInteger delivered = new AtomicInteger();

        @Override
        public CompletableFuture<DeliveryReport> deliver(Envelope envelope, Body body) {
            attempts.incrementAndGet();
            Map<MailAddress, Outcome> map = new LinkedHashMap<>();
            boolean ok = up;
            envelope.recipients().forEach(r -> map.put(r, ok ? new Outcome.Delivered("250 2.0.0 ok")
                    : new Outcome.TransientFailure("cannot connect to 127.0.0.1:1: connection refused")));
            if (ok) {
                delivered.incrementAndGet();
            }
            return CompletableFuture.completedFuture(new DeliveryReport("up", map));
        }

        @Override
        public void close() {}
    }

    final Upstream upstream = new Upstream();
    final Map<String, CircuitState> circuit = new java.util.concurrent.ConcurrentHashMap<>();

    private void start() throws Exception {
        routing = RoutingEngine.create(
                List.of(new UpstreamConfig("up", UpstreamUrl.parse("smtp://127.0.0.1:2525"), null, null,
                        TlsMode.NONE, null)),
                List.of(), u -> upstream, dir.resolve("work"), clock, (CircuitListener) circuit::put);
        spool = Spool.open(dir.resolve("spool"));
        q = new QueueManager(spool, routing, clock, new RetryPolicy(Duration.ofMinutes(1), Duration.ofHours(1),
                Duration.ofDays(5), () -> 0.0), 4, QueueListener.NONE, QueueManager.Bounces.logOnly(),
                QueueManager.DEFAULT_FAILED_RETENTION);
        q.start();
    }

    @AfterEach
    void stop() {
        if (q != null) {
            q.stop(Duration.ofSeconds(2));
        }
        if (spool != null) {
            spool.close();
        }
    }

    private QueueId submit(int i) throws Exception {
        return q.submit(SENDER, List.of(MailAddress.of("r" + i + "@y.org")), "app", new ByteArrayInputStream(
                ("Subject: m" + i + "\r\n\r\nbody\r\n").getBytes()));
    }

    private void advance(Duration d) {
        clock.advance(d);
        q.wake();
    }

    private List<Envelope> deferred() throws Exception {
        return spool.list(QueueState.DEFERRED).stream()
                .map(id -> spool.peek(QueueState.DEFERRED, id).orElseThrow().envelope()).toList();
    }

    private int attemptsRecorded() throws Exception {
        return deferred().stream().mapToInt(Envelope::attempts).sum();
    }

    /** Queues MESSAGES while the upstream is down, until every one is deferred and the circuit is open. */
    private void outage() throws Exception {
        start();
        for (int i = 0; i < MESSAGES; i++) {
            submit(i);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> spool.list(QueueState.DEFERRED).size() == MESSAGES);
        assertThat(circuit.get("up")).isEqualTo(CircuitState.OPEN);
    }

    @Test
    void aDeferralByAnOpenCircuitIsNoAttemptAndGrowsNoBackoff() throws Exception {
        outage();
        // five real attempts opened the circuit; the others never reached the upstream
        assertThat(upstream.attempts.get()).isEqualTo(5);
        assertThat(attemptsRecorded()).as("attempts recorded = attempts made").isEqualTo(5);

        for (int i = 0; i < 10; i++) { // a long outage: a probe after every cool-down fails
            advance(Duration.ofSeconds(31));
            int made = 5 + i + 1;
            await().atMost(Duration.ofSeconds(5)).until(() -> upstream.attempts.get() == made);
            await().atMost(Duration.ofSeconds(5)).until(() -> attemptsRecorded() == made
                    && spool.list(QueueState.DEFERRED).size() == MESSAGES);
        }
        assertThat(upstream.attempts.get()).as("one probe per cool-down").isEqualTo(5 + 10);
        assertThat(attemptsRecorded()).isEqualTo(upstream.attempts.get());
        assertThat(deferred()).allSatisfy(e -> assertThat(e.attempts()).isLessThanOrEqualTo(11));
    }

    @Test
    void aSuccessfulProbeReleasesEveryMessageWaitingOnTheUpstreamAtOnce() throws Exception {
        outage();
        for (int i = 1; i <= 2; i++) { // failed probes meanwhile, each one seen through before the next step
            advance(Duration.ofMinutes(3));
            int made = 5 + i;
            await().atMost(Duration.ofSeconds(5)).until(() -> upstream.attempts.get() >= made
                    && spool.list(QueueState.DEFERRED).size() == MESSAGES);
        }
        upstream.up = true;
        advance(Duration.ofSeconds(31)); // the next probe succeeds; no other clock change after it
        await().atMost(Duration.ofSeconds(10)).until(() -> upstream.delivered.get() == MESSAGES);
        await().atMost(Duration.ofSeconds(5)).until(() -> q.queued() == 0);
        assertThat(circuit.get("up")).isEqualTo(CircuitState.CLOSED);
    }

    @Test
    void anOperatorRetryProbesTheOpenCircuitAtOnce() throws Exception {
        outage();
        upstream.up = true;
        int retried = q.admin().retryAll(); // within the cool-down: the clock does not move
        assertThat(retried).isEqualTo(MESSAGES);
        await().atMost(Duration.ofSeconds(10)).until(() -> upstream.delivered.get() == MESSAGES);
        await().atMost(Duration.ofSeconds(5)).until(() -> q.queued() == 0);
    }

    @Test
    void anOperatorRetryOfOneMessageProbesItsOpenCircuitAndReleasesTheOthers() throws Exception {
        outage();
        upstream.up = true;
        QueueId one = spool.list(QueueState.DEFERRED).get(MESSAGES - 1);
        // its file reaches deferred/ a moment before the scheduler owns it again: "try again in a moment" then
        await().ignoreExceptionsMatching(e -> e instanceof QueueAdmin.ActionException
                && e.getMessage().endsWith("try again in a moment")).until(() -> {
                    q.admin().retry(one);
                    return true;
                });
        await().atMost(Duration.ofSeconds(10)).until(() -> upstream.delivered.get() == MESSAGES);
        await().atMost(Duration.ofSeconds(5)).until(() -> q.queued() == 0);
    }

    @Test
    void mailWaitingOnACircuitIsStillThereAfterARestartAndGoesAtOnce() throws Exception {
        outage();
        advance(Duration.ofMinutes(2)); // the first failures' backoff is over: they bounce off the circuit too
        await().atMost(Duration.ofSeconds(5)).until(() -> upstream.attempts.get() == 6
                && spool.list(QueueState.DEFERRED).size() == MESSAGES
                && deferred().stream().allMatch(e -> !e.nextAttempt().isAfter(clock.instant())));
        q.stop(Duration.ofSeconds(2));
        q = null;
        spool.close();
        spool = null;
        upstream.up = true;
        start(); // a new routing engine: its circuits start closed
        await().atMost(Duration.ofSeconds(10)).until(() -> upstream.delivered.get() == MESSAGES);
        await().atMost(Duration.ofSeconds(5)).until(() -> q.queued() == 0);
    }

    @Test
    void mailWaitingOnACircuitThatNeverClosesExpiresAtTheEndOfItsLifetime() throws Exception {
        outage();
        advance(Duration.ofDays(5));
        await().atMost(Duration.ofSeconds(10)).until(() -> spool.list(QueueState.FAILED).size() == MESSAGES);
        assertThat(q.queued()).isZero();
    }

    @Test
    void aMessageThatCannotConnectWhileTheCircuitIsClosedWaitsForItsBackoff() throws Exception {
        start();
        QueueId id = submit(0);
        await().atMost(Duration.ofSeconds(5)).until(() -> spool.list(QueueState.DEFERRED).contains(id));
        Envelope e = spool.peek(QueueState.DEFERRED, id).orElseThrow().envelope();
        assertThat(e.attempts()).isEqualTo(1);
        assertThat(e.nextAttempt()).isEqualTo(clock.instant().plus(Duration.ofMinutes(1)));
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
                .until(() -> upstream.attempts.get() == 1); // not retried at once: the circuit is still closed
        assertThat(circuit.get("up")).isEqualTo(CircuitState.CLOSED);
        upstream.up = true;
        advance(Duration.ofMinutes(1));
        await().atMost(Duration.ofSeconds(5)).until(() -> upstream.delivered.get() == 1 && q.queued() == 0);
    }
}
