package dev.relay.core.delivery;

import dev.relay.config.TlsMode;
import dev.relay.config.UpstreamAuth;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * One smarthost as the delivery engine needs it: where, how protected, with which credentials, and how hard it
 * may be pushed.
 *
 * @param name     the configured name, for logs and metrics
 * @param host     host name or address; also the name the certificate must carry
 * @param port     never 25
 * @param tls      STARTTLS (required, never a plaintext fallback), implicit TLS, or none (loopback only)
 * @param username AUTH user (for XOAUTH2 the mailbox), or null for no AUTH
 * @param password AUTH password, or null
 * @param trust    an extra PEM CA bundle trusted besides the system trust store, or null
 * @param timeouts the per-step limits
 * @param pool     how many connections, how long they live
 * @param rate     how many messages per second and per day (token buckets), unlimited by default
 * @param auth     the SASL mechanism: AUTO picks PLAIN or LOGIN from what the upstream offers
 * @param oauth2   where XOAUTH2 tokens come from; required with {@code auth} XOAUTH2, else null
 * @param accountReplies which replies are about the relay's account, not the message (the generic rows by default)
 */
public record UpstreamTarget(String name, String host, int port, TlsMode tls, String username, String password,
                             Path trust, Timeouts timeouts, Pool pool, Rate rate, UpstreamAuth auth,
                             OAuth2 oauth2, AccountReplies accountReplies) {
    public UpstreamTarget {
        accountReplies = accountReplies == null ? AccountReplies.GENERIC : accountReplies;
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(timeouts, "timeouts");
        pool = pool == null ? Pool.DEFAULT : pool;
        rate = rate == null ? Rate.UNLIMITED : rate;
        auth = auth == null ? UpstreamAuth.AUTO : auth;
        if (port == 25) {
            throw new IllegalArgumentException(
                    "port 25 is never used: use the provider's submission port 587, 465 or 2525");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
        if (auth == UpstreamAuth.XOAUTH2 && (oauth2 == null || username == null)) {
            throw new IllegalArgumentException("XOAUTH2 needs a username (the mailbox) and an oauth2 token endpoint");
        }
    }

    /** With the generic account replies only. */
    public UpstreamTarget(String name, String host, int port, TlsMode tls, String username, String password,
                          Path trust, Timeouts timeouts, Pool pool, Rate rate, UpstreamAuth auth, OAuth2 oauth2) {
        this(name, host, port, tls, username, password, trust, timeouts, pool, rate, auth, oauth2, null);
    }

    /** The default pool, no rate limit, AUTH PLAIN or LOGIN as offered. */
    public UpstreamTarget(String name, String host, int port, TlsMode tls, String username, String password,
                          Path trust, Timeouts timeouts) {
        this(name, host, port, tls, username, password, trust, timeouts, Pool.DEFAULT, Rate.UNLIMITED,
                UpstreamAuth.AUTO, null, null);
    }

    /** Whether the relay authenticates to this upstream at all. */
    boolean authenticates() {
        return username != null;
    }

    @Override
    public String toString() { // never the password or a client secret
        return "UpstreamTarget[" + name + " " + host + ":" + port + " tls=" + tls.key()
                + (username == null ? "" : " user=" + username + " auth=" + auth.key()) + "]";
    }

    /** Per-step time limits; the defaults follow RFC 5321 section 4.5.3.2 where it gives one. */
    public record Timeouts(Duration connect, Duration greeting, Duration command, Duration dataBlock,
                           Duration dataEnd) {
        public Timeouts {
            Objects.requireNonNull(connect, "connect");
            Objects.requireNonNull(greeting, "greeting");
            Objects.requireNonNull(command, "command");
            Objects.requireNonNull(dataBlock, "dataBlock");
            Objects.requireNonNull(dataEnd, "dataEnd");
        }

        public static Timeouts rfc5321() {
            return new Timeouts(Duration.ofSeconds(30), Duration.ofMinutes(5), Duration.ofMinutes(5),
                    Duration.ofMinutes(3), Duration.ofMinutes(10));
        }
    }

    /**
     * The connection pool of one upstream.
     *
     * @param maxConnections           connections open at once (also the concurrency limit), at least 1
     * @param maxMessagesPerConnection transactions on one connection before it is closed, at least 1
     * @param idleTimeout              an unused connection is closed after this (keep it under the server's
     *                                 own 5-minute timeout)
     */
    public record Pool(int maxConnections, int maxMessagesPerConnection, Duration idleTimeout) {
        public static final Pool DEFAULT = new Pool(10, 100, Duration.ofSeconds(30));

        public Pool {
            if (maxConnections < 1) {
                throw new IllegalArgumentException("maxConnections must be at least 1: " + maxConnections);
            }
            if (maxMessagesPerConnection < 1) {
                throw new IllegalArgumentException(
                        "maxMessagesPerConnection must be at least 1: " + maxMessagesPerConnection);
            }
            if (idleTimeout == null || idleTimeout.isNegative() || idleTimeout.isZero()) {
                throw new IllegalArgumentException("idleTimeout must be positive: " + idleTimeout);
            }
        }
    }

    /**
     * Messages per second and per day, each a token bucket; 0 means no limit.
     *
     * @param perSecond may be fractional (0.5 = one message every two seconds)
     */
    public record Rate(double perSecond, long perDay) {
        public static final Rate UNLIMITED = new Rate(0, 0);

        public Rate {
            if (perSecond < 0 || Double.isNaN(perSecond) || Double.isInfinite(perSecond)) {
                throw new IllegalArgumentException("perSecond must be 0 (unlimited) or positive: " + perSecond);
            }
            if (perDay < 0) {
                throw new IllegalArgumentException("perDay must be 0 (unlimited) or positive: " + perDay);
            }
        }

        boolean limited() {
            return perSecond > 0 || perDay > 0;
        }
    }

    /**
     * An OAuth2 token endpoint for XOAUTH2: the refresh-token grant (Google) when {@code refreshToken} is set,
     * else the client-credentials grant (Microsoft 365, scope {@code https://outlook.office365.com/.default}).
     */
    public record OAuth2(URI tokenUrl, String clientId, String clientSecret, String scope, String refreshToken) {
        public OAuth2 {
            Objects.requireNonNull(tokenUrl, "tokenUrl");
            Objects.requireNonNull(clientId, "clientId");
        }

        boolean refreshTokenGrant() {
            return refreshToken != null;
        }

        @Override
        public String toString() { // never the secret or the refresh token
            return "OAuth2[" + tokenUrl + " client=" + clientId + " grant="
                    + (refreshTokenGrant() ? "refresh_token" : "client_credentials") + "]";
        }
    }
}
