package dev.relay.core.delivery;

import dev.relay.core.model.Envelope;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * The delivery stage: sends one queued message to an upstream and reports, per recipient, what became of it.
 * Implementations never block the caller and never complete the future exceptionally: every failure, a refused
 * connection as much as a 5xx reply, is an {@link Outcome} in the report.
 */
public interface DeliveryEngine extends AutoCloseable {

    /**
     * Delivers the message whose content is the first {@code bodySize} bytes of the file {@code body} (as stored:
     * CRLF lines, not dot-stuffed; a spool body file has the envelope's copy after the message, so an engine that
     * reads the body must stop there), or the whole file when {@code bodySize} is negative.
     */
    CompletableFuture<DeliveryReport> deliver(Envelope envelope, Path body, long bodySize);

    /** Delivers the whole file {@code body} as the message content. */
    default CompletableFuture<DeliveryReport> deliver(Envelope envelope, Path body) {
        return deliver(envelope, body, -1);
    }

    @Override
    void close();
}
