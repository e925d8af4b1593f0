package dev.relay.core.delivery;

import io.netty.handler.codec.DecoderException;
import java.io.IOException;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What an exception on a connection to the upstream means, told as the detail of the transient failure it causes
 * (like Postfix's {@code smtp_trouble.c} beside {@code smtp_proto.c}): a TLS handshake or TLS error, a malformed
 * reply, a connection error, or an unexpected error (logged with its stack trace, as it is a bug). Details name
 * the upstream and the step; they never contain credentials.
 */
final class UpstreamTrouble {
    private static final Logger LOG = LoggerFactory.getLogger(UpstreamTrouble.class);

    private UpstreamTrouble() {
    }

    /** The detail for {@code cause}, raised talking to {@code hostPort} during {@code phase}. */
    static String detail(Throwable cause, String hostPort, String phase, boolean tlsActive, String id) {
        SSLException ssl = find(cause, SSLException.class);
        if (ssl != null) {
            return (tlsActive ? "TLS error with " : "TLS handshake with ") + hostPort
                    + (tlsActive ? ": " : " failed: ") + describe(ssl);
        } else if (cause instanceof DecoderException) {
            String msg = describe(cause);
            return "protocol error: malformed reply from " + hostPort + " during " + phase
                    + (msg.startsWith("Received invalid line") || msg.startsWith("frame length")
                    ? ": " + truncate(msg) : "");
        } else if (find(cause, IOException.class) != null) {
            return "connection error with " + hostPort + " during " + phase + ": "
                    + describe(find(cause, IOException.class));
        }
        LOG.warn("{}: unexpected error talking to {}", id, hostPort, cause);
        return "unexpected error during " + phase + " with " + hostPort + ": " + cause;
    }

    /** The exception's message, or its class name when it has none. */
    static String describe(Throwable t) {
        if (t == null) {
            return "unknown cause";
        }
        String msg = t.getMessage();
        return msg == null || msg.isBlank() ? t.getClass().getSimpleName() : msg;
    }

    private static String truncate(String s) {
        return s.length() <= 300 ? s : s.substring(0, 300) + "...";
    }

    private static <T extends Throwable> T find(Throwable t, Class<T> type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return type.cast(c);
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return null;
    }
}
