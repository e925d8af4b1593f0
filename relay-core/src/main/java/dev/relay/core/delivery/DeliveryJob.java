package dev.relay.core.delivery;

import dev.relay.core.model.Envelope;
import dev.relay.core.spool.Body;
import java.util.concurrent.CompletableFuture;

/**
 * One message waiting for, or in, a transaction with the upstream.
 *
 * @param result  completed (never exceptionally) once every recipient's outcome is decided
 * @param retried whether a reused connection already failed under it (it is moved to another one only once)
 */
record DeliveryJob(Envelope envelope, Body body, BodyScan scan, CompletableFuture<DeliveryReport> result,
                   boolean retried) {

    DeliveryJob(Envelope envelope, Body body, BodyScan scan, CompletableFuture<DeliveryReport> result) {
        this(envelope, body, scan, result, false);
    }

    /** The same job, handed to another connection once after a reused one died before any reply. */
    DeliveryJob asRetry() {
        return new DeliveryJob(envelope, body, scan, result, true);
    }

    String id() {
        return envelope.id().value();
    }

    static String hostPort(UpstreamTarget target) {
        String host = target.host();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + target.port();
    }
}
