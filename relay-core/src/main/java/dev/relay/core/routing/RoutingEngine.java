package dev.relay.core.routing;

import dev.relay.config.RouteConfig;
import dev.relay.config.UpstreamConfig;
import dev.relay.core.delivery.DeliveryEngine;
import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
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
 * copy of the content (the spooled original is never changed), and tries the route's upstreams in order, each
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
    private final Map<String, CircuitBreaker> breakers = new LinkedHashMap<>();
    private final InstantSource clock;
    private final Path workDir;
    private final CircuitListener listener;
    private final List<java.util.function.Consumer<String>> watchers =
            new java.util.concurrent.CopyOnWriteArrayList<>();

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
        RouteTable table = RouteTable.of(routes, names);
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
        this.clock = Objects.requireNonNull(clock, "clock");
        this.workDir = Objects.requireNonNull(workDir, "workDir");
        this.listener = Objects.requireNonNull(listener, "listener");
        for (String name : engines.keySet()) {
            breakers.put(name, new CircuitBreaker(policy));
            listener.stateChanged(name, CircuitState.CLOSED);
        }
    }

    /**
     * Replaces the routes (a configuration reload), keeping the upstreams, their connections and their circuit
     * breakers. Deliveries in flight finish on the routes they started with; the next one uses the new routes.
     *
     * @throws IllegalArgumentException if a route names an upstream this engine does not have (nothing changes)
     */
    public void replaceRoutes(List<RouteConfig> configs) {
        routes = RouteTable.of(configs, List.copyOf(engines.keySet()));
    }

    /** The names of the upstreams this engine delivers through, in configuration order. */
    public List<String> upstreams() {
        return List.copyOf(engines.keySet());
    }

    /** The upstream's breaker state as last changed by an attempt; null for an unknown name. */
    public CircuitState circuitState(String upstream) {
        CircuitBreaker b = breakers.get(upstream);
        return b == null ? null : b.state();
    }

    @Override
    public CompletableFuture<DeliveryReport> deliver(Envelope envelope, Path body, long bodySize) {
        try {
            Route route = routes.select(envelope);
            Route.Rewrite rw = route.rewrite();
            MailAddress sender = rw.sender(envelope.sender());
            if (!rw.changesContent()) {
                return failover(new Attempt(envelope, route, sender, body, bodySize));
            }
            return CompletableFuture.supplyAsync(() -> rewrittenCopy(envelope, body, bodySize, rw), BLOCKING)
                    .handle((copy, error) -> {
                        if (error != null) {
                            String detail = "cannot prepare the outbound copy for route " + route.name() + ": "
                                    + rootCause(error);
                            LOG.warn("{}: {}", envelope.id(), detail);
                            return CompletableFuture.completedFuture(DeliveryReport.all("", envelope.recipients(),
                                    new Outcome.TransientFailure(detail)));
                        }
                        return failover(new Attempt(envelope, route, sender, copy, -1))
                                .whenComplete((r, e) -> delete(envelope, copy));
                    })
                    .thenCompose(Function.identity());
        } catch (RuntimeException | Error e) {
            LOG.warn("{}: routing failed", envelope.id(), e);
            return CompletableFuture.completedFuture(DeliveryReport.all("", envelope.recipients(),
                    new Outcome.TransientFailure("routing failed: " + e)));
        }
    }

    private Path rewrittenCopy(Envelope envelope, Path body, long bodySize, Route.Rewrite rw) {
        try {
            Files.createDirectories(workDir);
            Path copy = Files.createTempFile(workDir, envelope.id() + ".", ".outbound");
            try {
                HeaderRewriter.rewrite(body, bodySize, copy, rw);
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(copy);
                throw e;
            }
            return copy;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void delete(Envelope envelope, Path copy) {
        try {
            Files.deleteIfExists(copy);
        } catch (IOException e) {
            LOG.warn("{}: cannot remove the outbound copy {}: {}", envelope.id(), copy, e.toString());
        }
    }

    /** One message's way through its route. */
    private static final class Attempt {
        final Envelope envelope;
        final Route route;
        final MailAddress sender;
        final Path body;
        final long bodySize; // negative: the whole file
        final Map<MailAddress, Outcome> outcomes = new LinkedHashMap<>();
        final List<String> used = new ArrayList<>();
        final List<String> skipped = new ArrayList<>();
        List<MailAddress> pending;
        /** Some upstream answered (a reply other than 421): it was reachable. */
        boolean answered;
        /** The soonest an upstream that made no attempt (its rate limit, or closed) can take the message; or null. */
        DeliveryReport.NotAttempted notAttempted;

        Attempt(Envelope envelope, Route route, MailAddress sender, Path body, long bodySize) {
            this.envelope = envelope;
            this.route = route;
            this.sender = sender;
            this.body = body;
            this.bodySize = bodySize;
            this.pending = envelope.recipients();
        }

        Envelope outgoing() {
            Envelope e = envelope;
            return new Envelope(e.id(), sender, pending, e.receivedAt(), e.submitter(), e.attempts(),
                    e.nextAttempt(), e.lastError(), e.smtputf8());
        }
    }

    private CompletableFuture<DeliveryReport> failover(Attempt a) {
        return tryFrom(a, 0);
    }

    private CompletableFuture<DeliveryReport> tryFrom(Attempt a, int index) {
        List<String> upstreams = a.route.upstreams();
        if (a.pending.isEmpty() || index >= upstreams.size()) {
            return CompletableFuture.completedFuture(finish(a));
        }
        String name = upstreams.get(index);
        CircuitBreaker breaker = breakers.get(name);
        if (!change(name, breaker, () -> breaker.tryAcquire(clock.instant()))) {
            a.skipped.add(name);
            LOG.debug("{}: skipping upstream {}: circuit {}", a.envelope.id(), name, breaker.state().key());
            return tryFrom(a, index + 1);
        }
        CompletableFuture<DeliveryReport> sent;
        Envelope outgoing = a.outgoing();
        try {
            sent = engines.get(name).deliver(outgoing, a.body, a.bodySize);
        } catch (RuntimeException e) {
            sent = CompletableFuture.failedFuture(e);
        }
        return sent.handle((report, error) -> error == null ? report : DeliveryReport.all(name,
                        outgoing.recipients(), new Outcome.TransientFailure("delivery via " + name + " failed: "
                                + rootCause(error))))
                .thenCompose(report -> {
                    if (report.notAttempted() != null) {
                        skip(a, name, breaker, report);
                    } else {
                        apply(a, name, breaker, report, index + 1 < upstreams.size());
                    }
                    return tryFrom(a, index + 1);
                });
    }

    /**
     * The upstream's engine made no attempt (its rate limit is used up, or it is closed): nothing is known about
     * the upstream, so its circuit neither counts a failure nor closes; a probe it had admitted goes back. The
     * recipients go on to the next upstream as after a transient failure.
     */
    private void skip(Attempt a, String name, CircuitBreaker breaker, DeliveryReport report) {
        a.skipped.add(name);
        for (MailAddress r : a.pending) {
            Outcome o = report.byRecipient().get(r);
            a.outcomes.put(r, o != null ? o : new Outcome.TransientFailure("upstream " + name + " made no attempt"));
        }
        Duration after = report.notAttempted().retryAfter();
        if (a.notAttempted == null || after.compareTo(a.notAttempted.retryAfter()) < 0) {
            a.notAttempted = report.notAttempted();
        }
        if (breaker.giveBack()) {
            notifyWatchers(name); // the probe may go again: a waiting message is to take it
        }
        LOG.info("{}: no attempt via upstream {}: {}", a.envelope.id(), name,
                a.outcomes.get(a.pending.get(0)).detail());
    }

    private void apply(Attempt a, String name, CircuitBreaker breaker, DeliveryReport report, boolean more) {
        a.used.add(name);
        List<MailAddress> stillPending = new ArrayList<>();
        boolean answered = false;
        String lastTransient = "";
        for (MailAddress r : a.pending) {
            Outcome o = report.byRecipient().get(r);
            if (o == null) {
                o = new Outcome.TransientFailure("upstream " + name + " reported no outcome for this recipient");
            }
            a.outcomes.put(r, o);
            switch (o) {
                case Outcome.TransientFailure t -> {
                    stillPending.add(r);
                    lastTransient = t.detail();
                    // a 4xx reply other than 421 (greylisting, mailbox busy) comes from a working upstream: counting
                    // it as a failure opened the circuit on one slow recipient and blocked (and expired) other mail
                    answered |= t.detail().matches("4[0-9][0-9][ -].*") && !t.detail().startsWith("421");
                }
                case Outcome.Delivered d -> answered = true;
                case Outcome.PermanentFailure p -> answered = true;
            }
        }
        a.pending = stillPending;
        a.answered |= answered;
        if (answered) {
            change(name, breaker, () -> {
                breaker.onSuccess();
                return null;
            });
        } else {
            change(name, breaker, () -> {
                breaker.onFailure(clock.instant());
                return null;
            });
        }
        if (!stillPending.isEmpty() && more) {
            LOG.info("{}: failover nrcpt={} upstream={} reply=\"{}\" route={}", a.envelope.id(),
                    stillPending.size(), name, lastTransient, a.route.name());
        }
    }

    private DeliveryReport finish(Attempt a) {
        if (a.used.isEmpty() && a.notAttempted != null) {
            // no upstream made an attempt, and one will take the message after its wait: no attempt counts
            Map<MailAddress, Outcome> ordered = new LinkedHashMap<>();
            for (MailAddress r : a.envelope.recipients()) {
                ordered.put(r, a.outcomes.get(r));
            }
            return new DeliveryReport("", ordered, null, a.notAttempted);
        }
        if (a.used.isEmpty()) {
            String detail = "all upstreams unavailable on route " + a.route.name() + " (circuit open: "
                    + String.join(", ", a.skipped) + ")";
            LOG.info("{}: {}", a.envelope.id(), detail);
            // no attempt was made: the message waits for a circuit, not for a backoff
            return DeliveryReport.all("", a.envelope.recipients(), new Outcome.TransientFailure(detail))
                    .waitingFor(new DeliveryReport.CircuitWait(a.route.upstreams(), false, true));
        }
        Map<MailAddress, Outcome> ordered = new LinkedHashMap<>();
        for (MailAddress r : a.envelope.recipients()) {
            ordered.put(r, a.outcomes.get(r));
        }
        DeliveryReport report = new DeliveryReport(String.join(",", a.used), ordered);
        if (!a.pending.isEmpty() && a.route.upstreams().stream()
                .allMatch(u -> breakers.get(u).state() != CircuitState.CLOSED)) {
            // this attempt failed and left every upstream of the route open (it opened the last one, or its probe
            // failed): the rest waits for a circuit too, or it would sit out a backoff after the upstream is back
            return report.waitingFor(new DeliveryReport.CircuitWait(a.route.upstreams(), true, true));
        }
        if (!a.pending.isEmpty() && !a.answered) {
            // no upstream answered: when one's circuit opens and closes again, this message need not sit out its
            // backoff (a message that failed before the circuit opened would otherwise miss the recovery)
            return report.waitingFor(new DeliveryReport.CircuitWait(a.route.upstreams(), true, false));
        }
        return report;
    }

    /**
     * Runs a breaker action and reports a state change to the listener and the log, then (outside the breaker's
     * lock: a watcher takes the queue's lock, and the queue asks the breakers while holding it) to the watchers.
     */
    private <T> T change(String name, CircuitBreaker breaker, java.util.function.Supplier<T> action) {
        T result;
        boolean changed;
        synchronized (breaker) {
            CircuitState before = breaker.state();
            result = action.get();
            CircuitState after = breaker.state();
            changed = before != after;
            if (changed) {
                LOG.info("upstream {}: circuit {} -> {}", name, before.key(), after.key());
                try {
                    listener.stateChanged(name, after);
                } catch (RuntimeException e) {
                    LOG.warn("circuit listener failed", e);
                }
            }
        }
        if (changed) {
            notifyWatchers(name);
        }
        return result;
    }

    private void notifyWatchers(String name) {
        for (java.util.function.Consumer<String> w : watchers) {
            try {
                w.accept(name);
            } catch (RuntimeException e) {
                LOG.warn("circuit watcher failed", e);
            }
        }
    }

    @Override
    public Instant availableAt(String upstream) {
        CircuitBreaker b = breakers.get(upstream);
        return b == null ? Instant.MIN : b.availableAt();
    }

    @Override
    public void watchCircuits(java.util.function.Consumer<String> watcher) {
        watchers.add(Objects.requireNonNull(watcher, "watcher"));
    }

    @Override
    public void probeNow(Envelope envelope) {
        Route route;
        try {
            route = routes.select(envelope);
        } catch (RuntimeException e) {
            return; // the delivery will say why
        }
        probe(route.upstreams());
    }

    @Override
    public void probeAllNow() {
        probe(List.copyOf(breakers.keySet()));
    }

    private void probe(List<String> names) {
        Instant now = clock.instant();
        for (String name : names) {
            CircuitBreaker b = breakers.get(name);
            if (b != null && b.probeNow(now)) {
                LOG.info("upstream {}: circuit open, probed at once (operator retry)", name);
            }
        }
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
