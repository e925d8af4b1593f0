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

    /**
     * Delivers the message whose content is the first {@code bodySize} bytes of the file {@code body} (a spool body
     * file has the envelope's copy after the message). Engines that read the body must honour the size; the
     * default, for engines that never read it, ignores it.
     */
    default CompletableFuture<DeliveryReport> deliver(Envelope envelope, Path body, long bodySize) {
        return deliver(envelope, body);
    }

    @Override
    void close();
}
