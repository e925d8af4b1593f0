package dev.relay.core.delivery;

import dev.relay.core.model.Envelope;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * One message waiting for, or in, a transaction with the upstream.
 *
 * @param result completed (never exceptionally) once every recipient's outcome is decided
 */
record DeliveryJob(Envelope envelope, Path body, BodyScan scan, CompletableFuture<DeliveryReport> result) {

    String id() {
        return envelope.id().value();
    }

    static String hostPort(UpstreamTarget target) {
        String host = target.host();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + target.port();
    }
}
