package dev.relay.core.routing;

import java.time.Instant;
import java.time.InstantSource;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The circuit breakers of the routing engine's upstreams, one each, and who hears of their changes: the
 * {@link CircuitListener} (metrics) and the watchers (the queue, which releases the messages waiting on a circuit).
 * Every state change is logged once, told to the listener under the breaker's lock, and to the watchers outside
 * it: a watcher takes the queue's lock, and the queue asks the breakers while holding it.
 */
final class Circuits {
    private static final Logger LOG = LoggerFactory.getLogger(RoutingEngine.class); // the name the logs have shown

    private final Map<String, CircuitBreaker> breakers = new LinkedHashMap<>();
    private final List<Consumer<String>> watchers = new CopyOnWriteArrayList<>();
    private final InstantSource clock;
    private final CircuitListener listener;

    Circuits(Collection<String> upstreams, CircuitBreaker.Policy policy, InstantSource clock,
             CircuitListener listener) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.listener = Objects.requireNonNull(listener, "listener");
        for (String name : upstreams) {
            breakers.put(name, new CircuitBreaker(policy));
            listener.stateChanged(name, CircuitState.CLOSED);
        }
    }

    /** The breaker state as last changed by an attempt; null for an unknown name. */
    CircuitState state(String upstream) {
        CircuitBreaker b = breakers.get(upstream);
        return b == null ? null : b.state();
    }

    /** Whether a delivery may go to the upstream now (closed, or the half-open probe is free). */
    boolean tryAcquire(String upstream) {
        CircuitBreaker b = breakers.get(upstream);
        return change(upstream, b, () -> b.tryAcquire(clock.instant()));
    }

    /** The upstream answered: the circuit closes (or stays closed). */
    void succeeded(String upstream) {
        CircuitBreaker b = breakers.get(upstream);
        change(upstream, b, () -> {
            b.onSuccess();
            return null;
        });
    }

    /** The upstream was unreachable or refused to work: one more failure towards opening. */
    void failed(String upstream) {
        CircuitBreaker b = breakers.get(upstream);
        change(upstream, b, () -> {
            b.onFailure(clock.instant());
            return null;
        });
    }

    /** The upstream made no attempt: a probe it had admitted goes back, and a waiting message is to take it. */
    void giveBack(String upstream) {
        if (breakers.get(upstream).giveBack()) {
            notifyWatchers(upstream);
        }
    }

    /** Whether every one of {@code upstreams} is open or half-open. */
    boolean noneClosed(List<String> upstreams) {
        return upstreams.stream().allMatch(u -> breakers.get(u).state() != CircuitState.CLOSED);
    }

    Instant availableAt(String upstream) {
        CircuitBreaker b = breakers.get(upstream);
        return b == null ? Instant.MIN : b.availableAt();
    }

    void watch(Consumer<String> watcher) {
        watchers.add(Objects.requireNonNull(watcher, "watcher"));
    }

    List<String> names() {
        return List.copyOf(breakers.keySet());
    }

    /** An operator's retry: each open circuit among {@code names} lets a probe through at once. */
    void probe(List<String> names) {
        Instant now = clock.instant();
        for (String name : names) {
            CircuitBreaker b = breakers.get(name);
            if (b != null && b.probeNow(now)) {
                LOG.info("upstream {}: circuit open, probed at once (operator retry)", name);
            }
        }
    }

    private <T> T change(String name, CircuitBreaker breaker, Supplier<T> action) {
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
        for (Consumer<String> w : watchers) {
            try {
                w.accept(name);
            } catch (RuntimeException e) {
                LOG.warn("circuit watcher failed", e);
            }
        }
    }
}
