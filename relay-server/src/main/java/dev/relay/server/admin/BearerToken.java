package dev.relay.server.admin;

import com.sun.net.httpserver.HttpExchange;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * The admin token as the queue and history APIs check it: every request needs {@code Authorization: Bearer
 * <token>}, compared in constant time. Without a token every request is admitted: the configuration refuses an
 * admin endpoint off loopback without one.
 */
final class BearerToken {
    private final byte[] token;

    /** @param token the admin token, or null for none */
    BearerToken(String token) {
        this.token = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
    }

    /** Whether a token is configured. */
    boolean configured() {
        return token != null;
    }

    /**
     * Whether the request may go on. If not, the response carries the challenge ({@code WWW-Authenticate}) and the
     * caller answers 401.
     */
    boolean admits(HttpExchange ex) {
        if (token == null) {
            return true;
        }
        String h = ex.getRequestHeaders().getFirst("Authorization");
        if (h != null && h.regionMatches(true, 0, "Bearer ", 0, 7)
                && MessageDigest.isEqual(token, h.substring(7).trim().getBytes(StandardCharsets.UTF_8))) {
            return true;
        }
        ex.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"relay\"");
        return false;
    }
}
