package dev.relay.server.admin;

import dev.relay.core.auth.AuthListener;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.queue.QueueListener;
import dev.relay.core.routing.CircuitListener;
import dev.relay.core.routing.CircuitState;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The relay's metrics (catalogue in docs/metrics.md). Names are under {@code relay.}; tags are low-cardinality
 * (never an address).
 */
public final class RelayMetrics implements QueueListener, CircuitListener, AuthListener {
    private final MeterRegistry registry;
    private final Map<String, AtomicInteger> circuits = new ConcurrentHashMap<>();
    private final Counter received;
    private final DistributionSummary receivedBytes;
    private final Counter delivered;
    private final Counter deferred;
    private final Counter failed;
    private final Timer endToEnd;

    public RelayMetrics(MeterRegistry registry) {
        this.registry = registry;
        for (Failure f : Failure.values()) { // every reason shows from the start, at 0
            authFailure(f);
        }
        authSuccess("PLAIN");
        authSuccess("LOGIN");
        lockouts();
        received = Counter.builder("relay.messages.received")
                .description("Messages committed to the spool and acknowledged with 250").register(registry);
        receivedBytes = DistributionSummary.builder("relay.messages.received.size").baseUnit("bytes")
                .description("Size of received messages").register(registry);
        delivered = Counter.builder("relay.messages.delivered")
                .description("Delivery attempts in which the upstream accepted the message for some recipients")
                .register(registry);
        deferred = Counter.builder("relay.messages.deferred")
                .description("Delivery attempts that left recipients to retry (4xx, connection or TLS failure)")
                .register(registry);
        failed = Counter.builder("relay.messages.failed")
                .description("Delivery attempts in which recipients failed permanently (5xx)").register(registry);
        endToEnd = Timer.builder("relay.delivery.end.to.end")
                .description("Time from receipt to delivery").publishPercentileHistogram().register(registry);
    }

    @Override
    public void received(Envelope envelope, long size) {
        received.increment();
        receivedBytes.record(size);
    }

    @Override
    public void delivered(Envelope envelope, List<MailAddress> recipients, String upstream, long size,
                          Duration latency) {
        delivered.increment();
        endToEnd.record(latency);
    }

    @Override
    public void deferred(Envelope envelope, List<MailAddress> recipients, String detail) {
        deferred.increment();
    }

    @Override
    public void failed(Envelope envelope, List<MailAddress> recipients, String detail) {
        failed.increment();
    }

    @Override
    public void stateChanged(String upstream, CircuitState state) {
        circuits.computeIfAbsent(upstream, u -> {
            AtomicInteger level = new AtomicInteger();
            Gauge.builder("relay.upstream.circuit.state", level, AtomicInteger::get).tag("upstream", u)
                    .description("Circuit breaker of the upstream: 0 closed, 1 half-open (probing), 2 open (skipped)")
                    .register(registry);
            return level;
        }).set(state.level());
    }

    private Counter authSuccess(String mechanism) {
        return Counter.builder("relay.auth.successes").tag("mechanism", mechanism)
                .description("Successful AUTH exchanges").register(registry);
    }

    private Counter authFailure(Failure failure) {
        return Counter.builder("relay.auth.failures").tag("reason", failure.tag())
                .description("AUTH attempts refused, by reason").register(registry);
    }

    private Counter lockouts() {
        return Counter.builder("relay.auth.lockouts")
                .description("Client addresses or users locked out after too many AUTH failures").register(registry);
    }

    @Override
    public void authSucceeded(String mechanism) {
        authSuccess(mechanism).increment();
    }

    @Override
    public void authFailed(Failure failure) {
        authFailure(failure).increment();
    }

    @Override
    public void lockedOut() {
        lockouts().increment();
    }
}
