package dev.relay.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * One smarthost the relay delivers through. The values are the effective ones: {@code username} falls back to
 * the user in the URL, {@code tls} to the URL's scheme, and {@code password} is the secret itself (already read
 * from its file if it was given as {@code password-file}). {@link #toString()} never shows a secret.
 *
 * @param name                     a unique name, for logs and metrics
 * @param url                      where: scheme, host, port and optionally the user
 * @param username                 AUTH user (for XOAUTH2 the mailbox), or null for no AUTH
 * @param password                 AUTH password (required with a username, except with XOAUTH2), or null
 * @param tls                      how the connection is protected; default from the scheme
 * @param trust                    an extra PEM CA bundle (not read here), or null
 * @param auth                     the SASL mechanism; default {@code auto} (PLAIN or LOGIN as offered)
 * @param oauth2                   the token endpoint for {@code auth: xoauth2}, else null
 * @param maxConnections           connections open at once (the concurrency limit); default 10
 * @param maxMessagesPerConnection messages sent over one connection before it is replaced; default 100
 * @param idleTimeout              an unused connection is closed after this; default 30s
 * @param timeouts                 per-step limits; defaults from RFC 5321 section 4.5.3.2
 * @param rate                     messages per second and per day; default unlimited
 * @param provider                 the {@code provider} preset that filled what was not set, or null
 * @param region                   the preset's region (SES, Mailgun), or null
 * @param presetFilled             the keys the preset filled ({@code url}, {@code tls}, {@code username},
 *                                 {@code rate.per-second}, ...), in that order; empty without a preset
 * @param accountReplies           the user's own rows of the account reply table ({@code account-replies}), tried
 *                                 before the built-in ones; empty by default
 */
public record UpstreamConfig(String name, UpstreamUrl url, String username, String password, TlsMode tls,
                             Path trust, UpstreamAuth auth, OAuth2 oauth2, int maxConnections,
                             int maxMessagesPerConnection, Duration idleTimeout, Timeouts timeouts, Rate rate,
                             ProviderPreset provider, String region, List<String> presetFilled,
                             List<AccountReply> accountReplies) {
    /** The actions an {@code account-replies} row may name. */
    public static final List<String> ACCOUNT_ACTIONS = List.of("slow-down", "defer", "account-problem");

    /**
     * One row of {@code upstreams[].account-replies}: a reply that matches {@code pattern} (a Java regular
     * expression, found in "code enhanced-code text") is about the relay's account, never the message's.
     *
     * @param action   {@code slow-down}, {@code defer} or {@code account-problem}
     * @param reason   the {@code reason} label of {@code relay_upstream_account_problem}; default {@code configured}
     * @param fix      what the ERROR line tells the operator to change, or null
     * @param deferFor the least wait before the message is tried again, or null (the usual backoff)
     */
    public record AccountReply(String pattern, String action, String reason, String fix, Duration deferFor) {
        public AccountReply {
            reason = reason == null || reason.isBlank() ? "configured" : reason;
        }
    }

    public static final int DEFAULT_MAX_CONNECTIONS = 10;
    public static final int DEFAULT_MAX_MESSAGES_PER_CONNECTION = 100;
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(30);

    public UpstreamConfig {
        if (username == null && url != null) {
            username = url.username();
        }
        if (tls == null && url != null) {
            tls = url.defaultTls();
        }
        auth = auth == null ? UpstreamAuth.AUTO : auth;
        idleTimeout = idleTimeout == null ? DEFAULT_IDLE_TIMEOUT : idleTimeout;
        timeouts = timeouts == null ? Timeouts.DEFAULT : timeouts;
        rate = rate == null ? Rate.UNLIMITED : rate;
        presetFilled = presetFilled == null ? List.of() : List.copyOf(presetFilled);
        accountReplies = accountReplies == null ? List.of() : List.copyOf(accountReplies);
    }

    /** Without account-replies rows. */
    public UpstreamConfig(String name, UpstreamUrl url, String username, String password, TlsMode tls,
                          Path trust, UpstreamAuth auth, OAuth2 oauth2, int maxConnections,
                          int maxMessagesPerConnection, Duration idleTimeout, Timeouts timeouts, Rate rate,
                          ProviderPreset provider, String region, List<String> presetFilled) {
        this(name, url, username, password, tls, trust, auth, oauth2, maxConnections, maxMessagesPerConnection,
                idleTimeout, timeouts, rate, provider, region, presetFilled, List.of());
    }

    /** Without a provider preset. */
    public UpstreamConfig(String name, UpstreamUrl url, String username, String password, TlsMode tls,
                          Path trust, UpstreamAuth auth, OAuth2 oauth2, int maxConnections,
                          int maxMessagesPerConnection, Duration idleTimeout, Timeouts timeouts, Rate rate) {
        this(name, url, username, password, tls, trust, auth, oauth2, maxConnections, maxMessagesPerConnection,
                idleTimeout, timeouts, rate, null, null, List.of());
    }

    /** The previous shape: default pool, RFC 5321 timeouts, no rate limit, AUTH PLAIN or LOGIN. */
    public UpstreamConfig(String name, UpstreamUrl url, String username, String password, TlsMode tls, Path trust) {
        this(name, url, username, password, tls, trust, UpstreamAuth.AUTO, null, DEFAULT_MAX_CONNECTIONS,
                DEFAULT_MAX_MESSAGES_PER_CONNECTION, DEFAULT_IDLE_TIMEOUT, Timeouts.DEFAULT, Rate.UNLIMITED);
    }

    /** The smarthost's host, or null if no URL is set. */
    public String host() {
        return url == null ? null : url.host();
    }

    /** The smarthost's port, or 0 if no URL is set. */
    public int port() {
        return url == null ? 0 : url.port();
    }

    /**
     * The user name as it may be shown: {@code ****} when it equals the password (Postmark's Server API token is
     * both), else the user name itself (null if none).
     */
    public String shownUsername() {
        return username != null && username.equals(password) ? Problems.MASK : username;
    }

    /**
     * What the provider preset filled, for {@code relay check-config}: e.g. {@code provider sendgrid filled url
     * smtp://smtp.sendgrid.net:587, tls starttls, username apikey; rate: none documented: unlimited}; null without
     * a preset. No secret is ever part of it.
     */
    public String presetNote() {
        if (provider == null) {
            return null;
        }
        List<String> values = new java.util.ArrayList<>();
        for (String key : presetFilled) {
            values.add(key + " " + switch (key) {
                case "url" -> url;
                case "tls" -> tls.key();
                case "username" -> shownUsername();
                case "auth" -> auth.key();
                case "rate.per-second" -> rate.perSecond() == Math.rint(rate.perSecond())
                        ? Long.toString((long) rate.perSecond()) : Double.toString(rate.perSecond());
                case "rate.per-day" -> Long.toString(rate.perDay());
                default -> "?";
            });
        }
        return "provider " + provider.key() + (region == null ? "" : " (region " + region + ")")
                + (values.isEmpty() ? " filled nothing (every key it fills is set)" : " filled " + String.join(", ", values))
                + "; its default rate: " + provider.rateSource() + "; docs: " + provider.docs();
    }

    @Override
    public String toString() {
        return "UpstreamConfig[name=" + name + ", url=" + url + ", username=" + shownUsername()
                + ", password=" + (password == null ? "null" : Problems.MASK) + ", tls=" + (tls == null ? null : tls.key())
                + ", trust=" + trust + ", auth=" + auth.key() + ", oauth2=" + oauth2
                + ", max-connections=" + maxConnections + ", max-messages-per-connection=" + maxMessagesPerConnection
                + ", idle-timeout=" + Durations.format(idleTimeout) + ", timeouts=" + timeouts + ", rate=" + rate
                + (provider == null ? "" : ", provider=" + provider.key() + (region == null ? "" : ", region=" + region)
                + ", preset-filled=" + presetFilled) + "]";
    }

    /** Per-step limits of the SMTP client; a null component takes its RFC 5321 (section 4.5.3.2) default. */
    public record Timeouts(Duration connect, Duration greeting, Duration command, Duration dataBlock,
                           Duration dataEnd) {
        public static final Timeouts DEFAULT = new Timeouts(Duration.ofSeconds(30), Duration.ofMinutes(5),
                Duration.ofMinutes(5), Duration.ofMinutes(3), Duration.ofMinutes(10));

        public Timeouts {
            connect = connect == null ? Duration.ofSeconds(30) : connect;
            greeting = greeting == null ? Duration.ofMinutes(5) : greeting;
            command = command == null ? Duration.ofMinutes(5) : command;
            dataBlock = dataBlock == null ? Duration.ofMinutes(3) : dataBlock;
            dataEnd = dataEnd == null ? Duration.ofMinutes(10) : dataEnd;
        }
    }

    /** Messages per second (may be fractional) and per day; 0 means unlimited. */
    public record Rate(double perSecond, long perDay) {
        public static final Rate UNLIMITED = new Rate(0, 0);
    }

    /**
     * An OAuth2 token endpoint for XOAUTH2. With {@code refreshToken} the refresh-token grant (Google), else the
     * client-credentials grant (Microsoft 365, scope {@code https://outlook.office365.com/.default}).
     */
    public record OAuth2(URI tokenUrl, String clientId, String clientSecret, String scope, String refreshToken) {
        @Override
        public String toString() {
            return "OAuth2[token-url=" + tokenUrl + ", client-id=" + clientId + ", client-secret="
                    + (clientSecret == null ? "null" : Problems.MASK) + ", scope=" + scope + ", refresh-token="
                    + (refreshToken == null ? "null" : Problems.MASK) + "]";
        }
    }
}
