package dev.relay.core.delivery;

import dev.relay.core.model.Envelope;
import io.netty.handler.ssl.SslContext;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * Everything one connection needs to deliver one message.
 *
 * @param heloName the name for EHLO/HELO, or null for the address literal of the local socket
 * @param tls      the client TLS context, or null when the target's mode is none
 * @param result   completed (never exceptionally) once every recipient's outcome is decided
 */
record DeliveryJob(UpstreamTarget target, Envelope envelope, Path body, BodyScan scan, String heloName,
                   SslContext tls, CompletableFuture<DeliveryReport> result) {

    String hostPort() {
        return hostPort(target);
    }

    static String hostPort(UpstreamTarget target) {
        String host = target.host();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + target.port();
    }
}
