package dev.relay.core.routing;

import dev.relay.config.RouteConfig;
import dev.relay.config.UpstreamConfig;
import dev.relay.core.delivery.DeliveryEngine;
import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.spool.Body;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The delivery engine the queue sees: picks the message's route, applies its outbound rewriting to a temporary
 * copy of the content and signs what it sends when the route has DKIM ({@link Outbound}; the spooled original is
 * never changed), and tries the route's upstreams in order, each
 * through its own single-upstream engine. Recipients that fail transiently at one upstream (4xx, no connection,
 * TLS failure, timeout) go to the next one within the same attempt; recipients refused permanently (5xx) stay
 * refused. An upstream whose circuit breaker is open is skipped; if every upstream of the route is skipped, every
 * recipient fails transiently with "all upstreams unavailable" and the report's {@link DeliveryReport.CircuitWait}
 * says that no attempt was made: the queue waits for a circuit to close (it is told through
 * {@link #watchCircuits}) rather than for a backoff. It says so too when an attempt left every upstream of the
 * route open, or when no upstream answered at all.
 *
 * <p>The report names the upstreams tried, comma-separated, in order; each recipient's outcome is the one from
 * the last upstream that tried it. Like every engine, {@link #deliver} never blocks and never completes
 * exceptionally.
 */
public final class RoutingEngine implements DeliveryEngine {
    private static final Logger LOG = LoggerFactory.getLogger(RoutingEngine.class);
    private static final Executor BLOCKING = r -> Thread.ofVirtual().name("relay-rewrite").start(r);

    /** Swapped whole by {@link #replaceRoutes}; each delivery reads it once, so it finishes on the table it began with. */
    private volatile RouteTable routes;
    private final Map<String, DeliveryEngine> engines;
    private final Circuits circuits;
    private final Path workDir;
    private final InstantSource clock;
    private final List<AttemptListener> attemptListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    /**
     * An engine over every configured upstream, in configuration order.
     *
     * @param factory  makes the single-upstream engine of each upstream (closed by {@link #close})
     * @param workDir  where rewritten copies of message content are written while they are sent (e.g. the
     *                 spool's tmp directory, cleaned at start)
     * @param listener told about circuit breaker state changes (metrics)
     */
    public static RoutingEngine create(List<UpstreamConfig> upstreams, List<RouteConfig> routes,
                                       Function<UpstreamConfig, DeliveryEngine> factory, Path workDir,
                                       InstantSource clock, CircuitListener listener) {
        List<String> names = upstreams.stream().map(UpstreamConfig::name).toList();
        RouteTable table = RouteTable.of(routes, names, clock);
        Map<String, DeliveryEngine> engines = new LinkedHashMap<>();
        try {
            for (UpstreamConfig u : upstreams) {
                engines.put(u.name(), Objects.requireNonNull(factory.apply(u), "engine for " + u.name()));
            }
        } catch (RuntimeException | Error e) {
            engines.values().forEach(DeliveryEngine::close);
            throw e;
        }
        return new RoutingEngine(table, engines, CircuitBreaker.Policy.DEFAULT, clock, workDir, listener);
    }

    RoutingEngine(RouteTable routes, Map<String, DeliveryEngine> engines, CircuitBreaker.Policy policy,
                  InstantSource clock, Path workDir, CircuitListener listener) {
        this.routes = Objects.requireNonNull(routes, "routes");
        this.engines = new LinkedHashMap<>(engines);
        this.workDir = Objects.requireNonNull(workDir, "workDir");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.circuits = new Circuits(engines.keySet(), policy, clock, listener);
    }

    /**
     * Replaces the routes (a configuration reload), keeping the upstreams, their connections and their circuit
     * breakers. Deliveries in flight finish on the routes they started with; the next one uses the new routes.
     *
     * @throws IllegalArgumentException if a route names an upstream this engine does not have, or its DKIM key
     *                                  cannot be read (nothing changes); the keys are read again here
     */
    public void replaceRoutes(List<RouteConfig> configs) {
        routes = RouteTable.of(configs, List.copyOf(engines.keySet()), clock);
    }

    /** The names of the upstreams this engine delivers through, in configuration order. */
    public List<String> upstreams() {
        return List.copyOf(engines.keySet());
    }

    /** The upstream's breaker state as last changed by an attempt; null for an unknown name. */
    public CircuitState circuitState(String upstream) {
        return circuits.state(upstream);
    }

    @Override
    public CompletableFuture<DeliveryReport> deliver(Envelope envelope, Body body) {
        try {
            Route route = routes.select(envelope);
            MailAddress sender = route.rewrite().sender(envelope.sender());
            if (!route.changesContent()) {
                return tryFrom(new RouteAttempt(envelope, route, sender, body), 0);
            }
            return CompletableFuture.supplyAsync(() -> outbound(envelope, body, route), BLOCKING)
                    .handle((out, error) -> {
                        if (error != null) {
                            return CompletableFuture.completedFuture(notPrepared(envelope, route, error));
                        }
                        return tryFrom(new RouteAttempt(envelope, route, sender, out.body), 0)
                                .whenComplete((r, e) -> out.delete(envelope));
                    })
                    .thenCompose(Function.identity());
        } catch (RuntimeException | Error e) {
            LOG.warn("{}: routing failed", envelope.id(), e);
            return CompletableFuture.completedFuture(DeliveryReport.all("", envelope.recipients(),
                    new Outcome.TransientFailure("routing failed: " + e)));
        }
    }

    /** The report when what the route sends could not be made: permanent only if no retry can help. */
    private static DeliveryReport notPrepared(Envelope envelope, Route route, Throwable error) {
        Throwable cause = error;
        while (cause.getCause() != null && !(cause instanceof HeaderRewriter.TooLongToRewrite)) {
            cause = cause.getCause();
        }
        if (cause instanceof HeaderRewriter.TooLongToRewrite tooLong) { // no retry would help
            LOG.info("{}: {}", envelope.id(), tooLong.getMessage());
            return DeliveryReport.all("", envelope.recipients(),
                    new Outcome.PermanentFailure("554 5.6.0 " + tooLong.getMessage()));
        }
        String detail = cause instanceof Outbound.SigningFailed ? cause.getMessage()
                : "cannot prepare the outbound copy for route " + route.name() + ": " + rootCause(error);
        LOG.warn("{}: {}", envelope.id(), detail);
        return DeliveryReport.all("", envelope.recipients(), new Outcome.TransientFailure(detail));
    }

    private Outbound outbound(Envelope envelope, Body body, Route route) {
        try {
            return Outbound.prepare(envelope, body, route, workDir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Tries the route's upstreams from {@code index} on with the recipients still pending. */
    private CompletableFuture<DeliveryReport> tryFrom(RouteAttempt a, int index) {
        List<String> upstreams = a.route.upstreams();
        if (a.done() || index >= upstreams.size()) {
            return CompletableFuture.completedFuture(a.finish(circuits));
        }
        String name = upstreams.get(index);
        if (!circuits.tryAcquire(name)) {
            a.circuitOpen(name);
            LOG.debug("{}: skipping upstream {}: circuit {}", a.envelope.id(), name, circuits.state(name).key());
            return tryFrom(a, index + 1);
        }
        CompletableFuture<DeliveryReport> sent;
        Envelope outgoing = a.outgoing();
        long start = System.nanoTime();
        try {
            sent = engines.get(name).deliver(outgoing, a.body);
        } catch (RuntimeException e) {
            sent = CompletableFuture.failedFuture(e);
        }
        return sent.handle((report, error) -> error == null ? report : DeliveryReport.all(name,
                        outgoing.recipients(), new Outcome.TransientFailure("delivery via " + name + " failed: "
                                + rootCause(error))))
                .thenCompose(report -> {
                    if (report.notAttempted() != null) {
                        a.notAttempted(name, report, circuits);
                    } else {
                        tell(name, report, System.nanoTime() - start);
                        a.attempted(name, report, index + 1 < upstreams.size(), circuits);
                    }
                    return tryFrom(a, index + 1);
                });
    }

    /** {@code listener} is told about every attempt made through an upstream from now on. */
    public void watchAttempts(AttemptListener listener) {
        attemptListeners.add(Objects.requireNonNull(listener, "listener"));
    }

    private void tell(String upstream, DeliveryReport report, long nanos) {
        for (AttemptListener l : attemptListeners) {
            try {
                l.attempted(upstream, report, nanos);
            } catch (RuntimeException e) {
                LOG.warn("attempt listener failed", e);
            }
        }
    }

    @Override
    public Instant availableAt(String upstream) {
        return circuits.availableAt(upstream);
    }

    @Override
    public void watchCircuits(java.util.function.Consumer<String> watcher) {
        circuits.watch(watcher);
    }

    @Override
    public void probeNow(Envelope envelope) {
        Route route;
        try {
            route = routes.select(envelope);
        } catch (RuntimeException e) {
            return; // the delivery will say why
        }
        circuits.probe(route.upstreams());
    }

    @Override
    public void probeAllNow() {
        circuits.probe(circuits.names());
    }

    private static String rootCause(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c.toString();
    }

    @Override
    public void close() {
        for (Map.Entry<String, DeliveryEngine> e : engines.entrySet()) {
            try {
                e.getValue().close();
            } catch (RuntimeException ex) {
                LOG.warn("closing the delivery engine of upstream {} failed", e.getKey(), ex);
            }
        }
    }

    @Override
    public String toString() {
        return "RoutingEngine" + engines.keySet();
    }
}
