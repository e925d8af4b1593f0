package dev.relay.core.delivery;

import dev.relay.core.model.Envelope;
import dev.relay.core.spool.Body;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The delivery stage: sends one queued message to an upstream and reports, per recipient, what became of it.
 * Implementations never block the caller and never complete the future exceptionally: every failure, a refused
 * connection as much as a 5xx reply, is an {@link Outcome} in the report.
 */
public interface DeliveryEngine extends AutoCloseable {

    /**
     * Delivers the message whose content {@code body} reads (as stored: CRLF lines, not dot-stuffed): a stored
     * message as the spool gives it ({@link dev.relay.core.spool.Spool#body}), or a whole file such as a rewritten
     * copy ({@link Body#wholeFile}).
     */
    CompletableFuture<DeliveryReport> deliver(Envelope envelope, Body body);

    /**
     * When mail may next go through {@code upstream}, as its circuit breaker says: {@link Instant#MIN} now (closed),
     * a time at which an open circuit lets a probe through (possibly past: a probe may go now), or
     * {@link Instant#MAX} when a probe is in flight and only its outcome can tell. An engine without circuit
     * breakers (or one that does not know the upstream) answers {@link Instant#MIN}.
     */
    default Instant availableAt(String upstream) {
        return Instant.MIN;
    }

    /**
     * Registers {@code watcher}, called with an upstream's name after each change of its circuit's state (and, for
     * an engine whose upstreams are replaced, with every old and new name), outside any lock of the engine. It
     * reads the state through {@link #availableAt}; it must be fast and must not throw.
     */
    default void watchCircuits(Consumer<String> watcher) {}

    /** An operator's retry of this message: the open circuits of its route let a probe through now. */
    default void probeNow(Envelope envelope) {}

    /** An operator's retry of everything: every open circuit lets a probe through now. */
    default void probeAllNow() {}

    @Override
    void close();
}
