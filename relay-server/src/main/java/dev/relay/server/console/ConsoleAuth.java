package dev.relay.server.console;

import com.sun.net.httpserver.HttpExchange;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who may use the console. Without an admin token (a loopback bind) everyone who reaches it may, and forms carry
 * one CSRF token of this process. With a token, a login form takes it and starts a session: a random id in an
 * {@code HttpOnly; SameSite=Strict} cookie, with its own CSRF token, for {@link #SESSION_LIFETIME}. Tokens and
 * session ids are compared in constant time.
 */
final class ConsoleAuth {
    static final String COOKIE = "relay_console";
    static final Duration SESSION_LIFETIME = Duration.ofHours(12);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final byte[] token;
    private final InstantSource clock;
    private final String processCsrf = random();
    private final Map<String, Session> sessions = new ConcurrentHashMap<>();

    private record Session(String csrf, Instant expires) {}

    ConsoleAuth(String token, InstantSource clock) {
        this.token = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
        this.clock = clock;
    }

    boolean tokenRequired() {
        return token != null;
    }

    /** The CSRF token the forms of this request's pages carry, or null when the request is not logged in. */
    String csrf(HttpExchange ex) {
        if (token == null) {
            return processCsrf;
        }
        String id = cookie(ex.getRequestHeaders().getFirst("Cookie"));
        if (id == null) {
            return null;
        }
        Session s = sessions.get(id);
        if (s == null || clock.instant().isAfter(s.expires())) {
            sessions.remove(id);
            return null;
        }
        return s.csrf();
    }

    /** Whether {@code given} is the CSRF token of this request's session. */
    boolean csrfMatches(HttpExchange ex, String given) {
        String expected = csrf(ex);
        return expected != null && given != null
                && MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8), given.getBytes(StandardCharsets.UTF_8));
    }

    /** Checks {@code given} against the admin token; on a match a new session's {@code Set-Cookie} value, else null. */
    String login(String given) {
        if (token == null || given == null
                || !MessageDigest.isEqual(token, given.trim().getBytes(StandardCharsets.UTF_8))) {
            return null;
        }
        Instant now = clock.instant();
        sessions.values().removeIf(s -> now.isAfter(s.expires()));
        String id = random();
        sessions.put(id, new Session(random(), now.plus(SESSION_LIFETIME)));
        return COOKIE + "=" + id + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + SESSION_LIFETIME.toSeconds();
    }

    /** Ends the request's session; the {@code Set-Cookie} value that clears the cookie. */
    String logout(HttpExchange ex) {
        String id = cookie(ex.getRequestHeaders().getFirst("Cookie"));
        if (id != null) {
            sessions.remove(id);
        }
        return COOKIE + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0";
    }

    /** The console cookie's value in a {@code Cookie} header, or null. */
    static String cookie(String header) {
        if (header == null) {
            return null;
        }
        for (String part : header.split(";")) {
            String p = part.trim();
            if (p.startsWith(COOKIE + "=")) {
                return p.substring(COOKIE.length() + 1);
            }
        }
        return null;
    }

    private static String random() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
