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
     * Delivers the message whose content is the file {@code body} (as stored: CRLF lines, not dot-stuffed) to the
     * envelope's recipients.
     */
    CompletableFuture<DeliveryReport> deliver(Envelope envelope, Path body);

    @Override
    void close();
}
