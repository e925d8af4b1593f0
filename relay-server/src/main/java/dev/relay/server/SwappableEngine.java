package dev.relay.server;

import dev.relay.core.delivery.DeliveryEngine;
import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.model.Envelope;
import dev.relay.core.routing.CircuitState;
import dev.relay.core.routing.RoutingEngine;
import dev.relay.core.spool.Body;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The delivery engine the queue holds, whose routing engine (routes, upstreams and their connection pools) a
 * configuration reload can replace. A delivery runs to its end on the routing engine it started with; a replaced
 * routing engine is closed once its last delivery has ended. The queue never notices.
 */
final class SwappableEngine implements DeliveryEngine {
    private static final Logger log = LoggerFactory.getLogger(SwappableEngine.class);

    /** One routing engine and the deliveries running on it. */
    private static final class Generation {
        final RoutingEngine engine;
        final AtomicInteger inFlight = new AtomicInteger();
        volatile boolean retired;
        private boolean closed;

        Generation(RoutingEngine engine) {
            this.engine = Objects.requireNonNull(engine, "engine");
        }

        void ended() {
            if (inFlight.decrementAndGet() == 0 && retired) {
                closeSoon();
            }
        }

        /** Closes on its own thread: the last delivery may end on an event loop, which must not wait for itself. */
        void closeSoon() {
            synchronized (this) {
                if (closed) {
                    return;
                }
                closed = true;
            }
            Thread.ofVirtual().name("relay-engine-close").start(() -> {
                engine.close();
                log.info("previous upstreams closed: {}", engine.upstreams());
            });
        }
    }

    private volatile Generation current;
    /** The queue's circuit watchers, registered on every routing engine in turn. */
    private final List<Consumer<String>> watchers = new CopyOnWriteArrayList<>();

    SwappableEngine(RoutingEngine engine) {
        this.current = new Generation(engine);
        engine.watchCircuits(this::circuitChanged);
    }

    private void circuitChanged(String upstream) {
        for (Consumer<String> w : watchers) {
            w.accept(upstream);
        }
    }

    /** The routing engine deliveries start on now. */
    RoutingEngine current() {
        return current.engine;
    }

    List<String> upstreams() {
        return current.engine.upstreams();
    }

    CircuitState circuitState(String upstream) {
        return current.engine.circuitState(upstream);
    }

    /**
     * Makes {@code next} the engine of every delivery that starts from now on; the previous one finishes its
     * deliveries in progress and is then closed.
     */
    void replace(RoutingEngine next) {
        next.watchCircuits(this::circuitChanged);
        Generation old = current;
        current = new Generation(next);
        old.retired = true;
        if (old.inFlight.get() == 0) {
            old.closeSoon(); // a delivery that started on it meanwhile holds inFlight above 0 until it ends
        }
        // the new engine's circuits start closed, and an upstream that is gone has no circuit left to wait for:
        // mail waiting on any of these names looks again
        java.util.Set<String> names = new java.util.LinkedHashSet<>(old.engine.upstreams());
        names.addAll(next.upstreams());
        names.forEach(this::circuitChanged);
    }

    @Override
    public Instant availableAt(String upstream) {
        return current.engine.availableAt(upstream);
    }

    @Override
    public void watchCircuits(Consumer<String> watcher) {
        watchers.add(watcher);
    }

    @Override
    public void probeNow(Envelope envelope) {
        current.engine.probeNow(envelope);
    }

    @Override
    public void probeAllNow() {
        current.engine.probeAllNow();
    }

    @Override
    public CompletableFuture<DeliveryReport> deliver(Envelope envelope, Body body) {
        Generation g;
        while (true) {
            g = current;
            g.inFlight.incrementAndGet();
            if (!g.retired) {
                break;
            }
            g.ended(); // replaced between the read and the count: start on the new one
        }
        Generation started = g;
        try {
            return g.engine.deliver(envelope, body).whenComplete((report, error) -> started.ended());
        } catch (RuntimeException e) {
            started.ended();
            throw e;
        }
    }

    @Override
    public void close() {
        current.engine.close();
    }
}
