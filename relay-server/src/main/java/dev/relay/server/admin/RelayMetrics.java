package dev.relay.server.admin;

import dev.relay.core.auth.AuthListener;
import dev.relay.core.delivery.DeliveryListener;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.queue.QueueAdmin;
import dev.relay.core.queue.QueueListener;
import dev.relay.core.routing.CircuitListener;
import dev.relay.core.routing.CircuitState;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.SpoolException;
import dev.relay.server.receive.ListenerStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

/**
 * The relay's metrics (catalogue in docs/metrics.md). Names are under {@code relay.}; tags are low-cardinality
 * (never an address).
 */
public final class RelayMetrics implements QueueListener, CircuitListener, AuthListener, DeliveryListener {
    private final MeterRegistry registry;
    private final Map<String, AtomicInteger> circuits = new ConcurrentHashMap<>();
    private final Map<List<String>, AtomicInteger> accountGauges = new ConcurrentHashMap<>();
    private final Map<String, Map<String, String>> activeAccountProblems = new ConcurrentHashMap<>();
    private final Counter received;
    private final DistributionSummary receivedBytes;
    private final Counter delivered;
    private final Counter deliveredBytes;
    private final Counter deferred;
    private final Counter failed;
    private final Timer endToEnd;
    private final Counter attempts;
    private final Counter bounced;
    private final Counter expired;
    private final Counter delayWarnings;
    private final Timer inflowPause;

    public RelayMetrics(MeterRegistry registry) {
        this.registry = registry;
        for (Failure f : Failure.values()) { // every reason shows from the start, at 0
            authFailure(f);
        }
        authSuccess("PLAIN");
        authSuccess("LOGIN");
        lockouts();
        attempts = counter("relay.delivery.attempts", "Delivery attempts started (first tries and retries)");
        bounced = counter("relay.messages.bounced",
                "Messages whose sender was notified of permanently failed recipients (a DSN queued, "
                        + "or only logged with queue.bounces=log)");
        delayWarnings = counter("relay.delay.warnings",
                "Senders warned that their message is still undelivered after queue.delay-warning (a "
                        + "delay warning queued, or only logged with queue.bounces=log); at most one per message");
        expired = counter("relay.messages.expired",
                "Messages whose pending recipients failed at the end of queue.max-lifetime");
        received = counter("relay.messages.received", "Messages committed to the spool and acknowledged with 250");
        receivedBytes = DistributionSummary.builder("relay.messages.received.size").baseUnit("bytes")
                .description("Size of received messages").register(registry);
        delivered = counter("relay.messages.delivered",
                "Delivery attempts in which the upstream accepted the message for some recipients");
        deliveredBytes = Counter.builder("relay.messages.delivered.size").baseUnit("bytes")
                .description("Size of the messages delivered, once per delivery attempt that delivered recipients")
                .register(registry);
        deferred = counter("relay.messages.deferred",
                "Delivery attempts that left recipients to retry (4xx, connection or TLS failure)");
        failed = counter("relay.messages.failed", "Delivery attempts in which recipients failed permanently (5xx)");
        endToEnd = Timer.builder("relay.delivery.end.to.end")
                .description("Time from receipt to delivery").publishPercentileHistogram().register(registry);
        inflowPause = Timer.builder("relay.inbound.inflow.pause")
                .description("Pauses before a 250 while new mail waiting for delivery was above the in-flow limit "
                        + "(acceptance outrunning delivery; at most 1 s each)").register(registry);
    }

    @Override
    public void inflowPaused(long nanos) {
        inflowPause.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
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
        deliveredBytes.increment(size);
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
    public void delayWarned(Envelope envelope, List<MailAddress> recipients, dev.relay.core.model.QueueId dsn) {
        delayWarnings.increment();
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

    /** A counter of the relay's (no tags) with its description. */
    private Counter counter(String name, String description) {
        return Counter.builder(name).description(description).register(registry);
    }

    private Counter lockouts() {
        return counter("relay.auth.lockouts", "Client addresses or users locked out after too many AUTH failures");
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

    @Override
    public void attempted(Envelope envelope, int attempt) {
        attempts.increment();
    }

    @Override
    public void bounced(Envelope envelope, List<MailAddress> recipients, boolean sent) {
        bounced.increment();
    }

    @Override
    public void expired(Envelope envelope, List<MailAddress> recipients, Duration age) {
        expired.increment();
    }

    /**
     * Gauges of the spool's contents per state ({@code relay.queue.state.messages}, {@code .bytes}) and the age of
     * the oldest message waiting for delivery. One directory scan serves every gauge for {@value #SCAN_MILLIS} ms,
     * so a scrape never lists a large spool several times.
     */
    public void bindQueue(QueueAdmin admin, InstantSource clock) {
        QueueScan scan = new QueueScan(admin);
        for (QueueState s : QueueState.values()) {
            Gauge.builder("relay.queue.state.messages", scan, q -> q.get().messages().getOrDefault(s, 0L))
                    .tag("state", s.key()).description("Messages in each queue state").strongReference(true)
                    .register(registry);
            Gauge.builder("relay.queue.state.bytes", scan, q -> q.get().bytes().getOrDefault(s, 0L))
                    .tag("state", s.key()).baseUnit("bytes").description("Message bytes in each queue state")
                    .strongReference(true).register(registry);
        }
        Gauge.builder("relay.queue.oldest.age", scan, q -> q.get().oldest()
                        .map(t -> Math.max(0, Duration.between(t, clock.instant()).toMillis() / 1000.0)).orElse(0.0))
                .baseUnit("seconds")
                .description("Age of the oldest message waiting for delivery (incoming, active, deferred, hold)")
                .strongReference(true).register(registry);
    }

    static final long SCAN_MILLIS = 5000;

    private static final class QueueScan {
        private final QueueAdmin admin;
        private QueueAdmin.Stats last = new QueueAdmin.Stats(Map.of(), Map.of(), Optional.empty());
        private long at = Long.MIN_VALUE;

        QueueScan(QueueAdmin admin) {
            this.admin = admin;
        }

        synchronized QueueAdmin.Stats get() {
            long now = System.nanoTime();
            if (at == Long.MIN_VALUE || now - at > SCAN_MILLIS * 1_000_000) {
                try {
                    last = admin.stats();
                } catch (SpoolException e) {
                    // keep the last figures; readiness reports an unusable spool
                }
                at = now;
            }
            return last;
        }
    }

    // ---- listeners ------------------------------------------------------------------------------------------------

    /** The meters of one listener: sessions open now, connections admitted, TLS handshakes by version. */
    public void bindListener(String listener, boolean tls, IntSupplier open, ListenerStats stats) {
        Gauge.builder("relay.inbound.connections", open, IntSupplier::getAsInt).tag("listener", listener)
                .description("Sessions open now on the listener").strongReference(true).register(registry);
        FunctionCounter.builder("relay.inbound.connections.opened", stats, ListenerStats::connectionsOpened)
                .tag("listener", listener)
                .description("Connections the listener admitted (refused ones: relay_inbound_refused_total)")
                .register(registry);
        if (tls) {
            for (String version : ListenerStats.VERSIONS) {
                FunctionCounter.builder("relay.inbound.tls.handshakes", stats, st -> st.handshakes(version))
                        .tag("listener", listener).tag("version", version)
                        .description("TLS handshakes (STARTTLS or implicit) by the version agreed, or failed")
                        .register(registry);
            }
        }
    }

    // ---- delivery engine events (per upstream) -------------------------------------------------------------------

    @Override
    public void connectionOpened(String upstream) {
        upstreamCounter("relay.upstream.connections.opened", "Connections opened to the upstream", upstream)
                .increment();
    }

    @Override
    public void connectionReused(String upstream) {
        upstreamCounter("relay.upstream.connections.reused",
                "Messages sent over an already open connection instead of a new one", upstream).increment();
    }

    @Override
    public void rateLimited(String upstream) {
        upstreamCounter("relay.upstream.rate.limited",
                "Times messages waited for the upstream's rate limit or a back-pressure pause", upstream)
                .increment();
    }

    @Override
    public void throttled(String upstream, String reply) {
        upstreamCounter("relay.upstream.throttled",
                "Throttling replies (421, 451 4.7.x, 454 Throttling failure) that slowed the upstream down",
                upstream).increment();
    }

    /**
     * {@code relay_upstream_account_problem{upstream,reason}}: a gauge, 1 from the first reply about the account of
     * that reason until a message goes through the upstream again, then 0 (it stays registered).
     */
    @Override
    public void accountProblem(String upstream, String reason, String fix) {
        accountGauges.computeIfAbsent(List.of(upstream, reason), k -> {
            AtomicInteger raised = new AtomicInteger();
            Gauge.builder("relay.upstream.account.problem", raised, AtomicInteger::get).tag("upstream", upstream)
                    .tag("reason", reason)
                    .description("1 while the upstream refuses the relay's account (auth disabled, quota used up, "
                            + "unverified sender...; messages are deferred, not bounced), else 0")
                    .register(registry);
            return raised;
        }).set(1);
        activeAccountProblems.computeIfAbsent(upstream, u -> new ConcurrentHashMap<>()).put(reason, fix);
    }

    @Override
    public void accountRecovered(String upstream) {
        Map<String, String> active = activeAccountProblems.remove(upstream);
        if (active != null) {
            active.keySet().forEach(reason -> accountGauges.get(List.of(upstream, reason)).set(0));
        }
    }

    /** The account problems raised for {@code upstream} now, reason to fix; empty when none. */
    public Map<String, String> accountProblems(String upstream) {
        Map<String, String> active = activeAccountProblems.get(upstream);
        return active == null ? Map.of() : Map.copyOf(active);
    }

    /** Registered on first use; the registry returns the same counter afterwards. */
    private Counter upstreamCounter(String name, String description, String upstream) {
        return Counter.builder(name).description(description).tag("upstream", upstream).register(registry);
    }
}
