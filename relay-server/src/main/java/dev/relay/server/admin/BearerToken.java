package dev.relay.server.admin;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * The admin token as the queue and history APIs check it: every request needs {@code Authorization: Bearer
 * <token>}, compared in constant time. Without a token every request is admitted: the configuration refuses an
 * admin endpoint off loopback without one.
 */
final class BearerToken {
    private static final String REQUIRED =
            "{\"error\":\"a bearer token is required: --token-file, or Authorization: Bearer <admin.token>\"}\n";
    private final byte[] token;

    /** @param token the admin token, or null for none */
    BearerToken(String token) {
        this.token = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
    }

    /** Whether a token is configured. */
    boolean configured() {
        return token != null;
    }

    /** Whether the request may go on. If not, the response carries the challenge ({@code WWW-Authenticate}). */
    private boolean admits(HttpExchange ex) {
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

    /**
     * The opening of every API request: true when the request may not go on, answered already with {@code 401} and
     * a JSON error naming where the token goes (the CLI's {@code --token-file}, or the header).
     */
    boolean refused(HttpExchange ex) throws IOException {
        if (admits(ex)) {
            return false;
        }
        AdminServer.respond(ex, 401, "application/json", REQUIRED);
        return true;
    }
}
