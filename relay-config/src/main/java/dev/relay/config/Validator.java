package dev.relay.config;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The rules across the whole configuration; adds every error and warning it finds. Tolerates null parts. */
final class Validator {
    static final String PORT_25 = "port 25 is never used: use the provider's submission port 587, 465 or 2525";
    static final String OPEN_RELAY =
            "the relay is never an open relay: configure auth.users-file or auth.trusted-networks";

    private Validator() {
    }

    static void check(String hostname, List<ListenerConfig> listeners, TlsConfig tls, AuthConfig auth,
                      SpoolConfig spool, QueueConfig queue, List<UpstreamConfig> upstreams, AdminConfig admin,
                      Problems p) {
        if (!hostname.matches("[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")) {
            p.error("hostname", hostname, "not a valid host name: use letters, digits, '-' and '.', "
                    + "e.g. relay.example.com");
        }
        checkTls(tls, p);
        checkSni(tls, p);
        checkListeners(listeners, tls, admin, p);
        checkAuth(auth, p);
        checkSpool(spool, p);
        checkQueue(queue, p);
        checkUpstreams(upstreams, p);
        checkAdmin(admin, p);
    }

    private static void checkQueue(QueueConfig queue, Problems p) {
        if (p.hasErrorAt("queue.retry-delay")) {
            return;
        }
        boolean minOk = positive(queue.minBackoff(), "queue.min-backoff", "1m", p);
        boolean maxOk = positive(queue.maxBackoff(), "queue.max-backoff", "1h", p);
        positive(queue.maxLifetime(), "queue.max-lifetime", "5d", p);
        positive(queue.failedRetention(), "queue.failed-retention", "7d", p);
        if (minOk && maxOk && queue.maxBackoff().compareTo(queue.minBackoff()) < 0) {
            p.error("queue.max-backoff", Durations.format(queue.maxBackoff()), "the maximum backoff is shorter "
                    + "than queue.min-backoff (" + Durations.format(queue.minBackoff()) + "): make it at least as long, "
                    + "e.g. 1h");
        }
    }

    private static boolean positive(java.time.Duration d, String key, String example, Problems p) {
        if (d.isNegative() || d.isZero()) {
            p.error(key, Durations.format(d), "the duration must be positive, e.g. " + example);
            return false;
        }
        return true;
    }

    /**
     * The queue API can delete mail: off loopback it is served only with a token. Metrics and probes must reach a
     * pod's address (Kubernetes, Prometheus), so an open admin bind without a token is fine: the API is off.
     */
    private static void checkAdmin(AdminConfig admin, Problems p) {
        if (admin.bind() != null && !admin.bind().isLoopback() && admin.token() == null
                && !p.hasErrorAt("admin.token") && !p.hasErrorAt("admin.token-file")) {
            p.warn("admin.bind " + admin.bind() + " is not a loopback address and admin.token is not set: the queue "
                    + "API (/api/queue) is off; /metrics, /healthz and /readyz are served. Set admin.token-file "
                    + "(e.g. a Kubernetes secret) or admin.token to turn the queue API on");
        }
    }

    private static void checkSpool(SpoolConfig spool, Problems p) {
        if (spool.dir() == null) {
            p.missing("spool.dir", "the spool directory is required: set spool.dir (RELAY_SPOOL_DIR), "
                    + "e.g. /var/spool/relay");
        }
        if (spool.minFreeSpace() < 0) {
            p.error("spool.min-free-space", Long.toString(spool.minFreeSpace()),
                    "the free-space reserve must not be negative: use 0 to turn the check off, or e.g. 256MiB");
        }
    }

    private static void checkTls(TlsConfig tls, Problems p) {
        if (tls.cert() != null && tls.key() == null) {
            p.missing("tls.key", "tls.cert is set but tls.key is not: set both (PEM files) or neither");
        }
        if (tls.key() != null && tls.cert() == null) {
            p.missing("tls.cert", "tls.key is set but tls.cert is not: set both (PEM files) or neither");
        }
    }

    /** Each {@code tls.sni} entry: names, both files, and a default pair for clients whose name matches none. */
    private static void checkSni(TlsConfig tls, Problems p) {
        Map<String, String> seen = new HashMap<>();
        for (int i = 0; i < tls.sni().size(); i++) {
            String at = "tls.sni[" + i + "]";
            TlsConfig.SniCertificate sc = tls.sni().get(i);
            if (sc == null) {
                continue;
            }
            if (!tls.isConfigured() && i == 0) {
                p.missing("tls.cert", "tls.sni is set but tls.cert and tls.key are not: set them too, they are "
                        + "served to clients that ask for no name or for a name no sni entry has");
            }
            if (sc.cert() == null) {
                p.missing(at + ".cert", "every sni entry needs its certificate: set " + at + ".cert (a PEM file)");
            }
            if (sc.key() == null) {
                p.missing(at + ".key", "every sni entry needs its private key: set " + at + ".key (a PEM file)");
            }
            if (sc.names().isEmpty()) {
                p.missing(at + ".names", "every sni entry needs the names it is served for, e.g. "
                        + "names: [mail.example.com, \"*.example.org\"]");
            }
            for (int j = 0; j < sc.names().size(); j++) {
                String name = sc.names().get(j);
                if (!name.matches("(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*"
                        + "[A-Za-z0-9])?)*")) {
                    p.error(at + ".names[" + j + "]", name, "not a host name or a wildcard for one label: write "
                            + "e.g. mail.example.com or *.example.org");
                    continue;
                }
                String before = seen.putIfAbsent(name.toLowerCase(java.util.Locale.ROOT), at);
                if (before != null) {
                    p.error(at + ".names[" + j + "]", name, "already served by " + before + ": name each host "
                            + "in one entry only");
                }
            }
        }
    }

    private static void checkListeners(List<ListenerConfig> listeners, TlsConfig tls, AdminConfig admin,
                                       Problems p) {
        if (listeners.isEmpty()) {
            p.missing("listeners", "at least one listener is required: add e.g. {name: submission, "
                    + "bind: \"0.0.0.0:587\", tls: starttls} (or RELAY_LISTENERS_0_BIND=0.0.0.0:587)");
        }
        Map<String, Integer> names = new HashMap<>();
        Map<HostPort, String> binds = new HashMap<>();
        if (admin.bind() != null) {
            binds.put(admin.bind(), "admin.bind");
        }
        for (int i = 0; i < listeners.size(); i++) {
            String at = "listeners[" + i + "]";
            ListenerConfig l = listeners.get(i);
            if (l == null) {
                p.missing(at, "this listener is empty: set at least its bind address");
                continue;
            }
            if (l.name() == null || l.name().isBlank()) {
                p.missing(at + ".name", "every listener needs a name, e.g. submission");
            } else {
                Integer first = names.putIfAbsent(l.name(), i);
                if (first != null) {
                    p.error(at + ".name", l.name(), "the name is already used by listeners[" + first
                            + "]: give every listener its own name");
                }
            }
            if (l.bind() == null) {
                p.missing(at + ".bind", "the bind address is required, e.g. \"0.0.0.0:587\"");
            } else {
                String other = binds.putIfAbsent(l.bind(), at + ".bind");
                if (other != null) {
                    p.error(at + ".bind", l.bind().toString(), "the address is already used by " + other
                            + ": use another port");
                }
            }
            if (l.tls() != TlsMode.NONE && !tls.isConfigured() && !p.hasErrorAt("tls.cert")
                    && !p.hasErrorAt("tls.key")) {
                p.error(at + ".tls", l.tls().key(), "tls: " + l.tls().key() + " needs a certificate: set tls.cert "
                        + "and tls.key (PEM files), or use tls: none on a loopback address only");
            }
            if (l.tls() == TlsMode.NONE && l.bind() != null) {
                if (l.bind().isLoopback()) {
                    p.warn(at + " (" + l.bind() + ") accepts mail without TLS: acceptable on loopback only");
                } else {
                    p.error(at + ".tls", "none", "tls: none is only allowed on a loopback address (127.0.0.1, "
                            + "[::1], localhost), not on " + l.bind().host() + ": use starttls or implicit");
                }
            }
        }
    }

    private static void checkAuth(AuthConfig auth, Problems p) {
        if (auth.usersFile() == null && auth.trustedNetworks().isEmpty()) {
            p.missing("auth", OPEN_RELAY);
        }
        for (int i = 0; i < auth.trustedNetworks().size(); i++) {
            Cidr n = auth.trustedNetworks().get(i);
            if (n == null || !n.coversTheInternet()) {
                continue;
            }
            if (auth.iAmAnOpenRelay()) {
                p.warn("auth.trusted-networks[" + i + "] " + n + " covers the internet and auth.i-am-an-open-relay "
                        + "is true: anyone who can reach the relay can send mail through it without AUTH");
            } else {
                p.error("auth.trusted-networks[" + i + "]", n.toString(), "this network covers the internet "
                        + "(an IPv4 prefix shorter than /8, IPv6 shorter than /7): trusting it makes an open relay; "
                        + "list only your own networks (e.g. 10.0.0.0/8, 192.168.0.0/16, fc00::/7) or, if you "
                        + "really mean it, set auth.i-am-an-open-relay: true");
            }
        }
    }

    private static void checkUpstreams(List<UpstreamConfig> upstreams, Problems p) {
        if (upstreams.isEmpty()) {
            p.missing("upstreams", "at least one upstream (smarthost) is required: add e.g. {name: primary, "
                    + "url: \"smtp://smtp.example.com:587\", username: ..., password-file: ...} "
                    + "(or RELAY_UPSTREAMS_0_URL=...)");
        }
        Map<String, Integer> names = new HashMap<>();
        for (int i = 0; i < upstreams.size(); i++) {
            String at = "upstreams[" + i + "]";
            UpstreamConfig u = upstreams.get(i);
            if (u == null) {
                p.missing(at, "this upstream is empty: set at least its url");
                continue;
            }
            if (u.name() == null || u.name().isBlank()) {
                p.missing(at + ".name", "every upstream needs a name, e.g. primary");
            } else {
                Integer first = names.putIfAbsent(u.name(), i);
                if (first != null) {
                    p.error(at + ".name", u.name(), "the name is already used by upstreams[" + first
                            + "]: give every upstream its own name");
                }
            }
            checkUpstream(at, u, p);
            checkUpstreamDelivery(at, u, p);
            checkUpstreamAuth(at, u, p);
        }
    }

    /** The pool, timeouts and rate of one upstream. */
    private static void checkUpstreamDelivery(String at, UpstreamConfig u, Problems p) {
        if (u.maxConnections() < 1 || u.maxConnections() > 1000) {
            p.error(at + ".max-connections", Integer.toString(u.maxConnections()),
                    "must be between 1 and 1000: the provider's limit of concurrent connections, e.g. 10");
        }
        if (u.maxMessagesPerConnection() < 1) {
            p.error(at + ".max-messages-per-connection", Integer.toString(u.maxMessagesPerConnection()),
                    "must be at least 1, e.g. 100");
        }
        if (!positive(u.idleTimeout()) || u.idleTimeout().compareTo(Duration.ofMinutes(5)) >= 0) {
            p.error(at + ".idle-timeout", Durations.format(u.idleTimeout()), "must be positive and under 5m, "
                    + "the usual server timeout (RFC 5321 section 4.5.3.2.7), e.g. 30s");
        }
        UpstreamConfig.Timeouts t = u.timeouts();
        Map<String, Duration> timeouts = new java.util.LinkedHashMap<>();
        timeouts.put("connect", t.connect());
        timeouts.put("greeting", t.greeting());
        timeouts.put("command", t.command());
        timeouts.put("data-block", t.dataBlock());
        timeouts.put("data-end", t.dataEnd());
        timeouts.forEach((key, d) -> {
            if (!positive(d)) {
                p.error(at + ".timeouts." + key, Durations.format(d), "a timeout must be positive, e.g. 5m");
            }
        });
        if (u.rate().perSecond() < 0) {
            p.error(at + ".rate.per-second", Double.toString(u.rate().perSecond()),
                    "must be 0 (no limit) or positive, e.g. 14 (Amazon SES's default) or 0.5");
        }
        if (u.rate().perDay() < 0) {
            p.error(at + ".rate.per-day", Long.toString(u.rate().perDay()),
                    "must be 0 (no limit) or positive, e.g. 10000");
        }
    }

    /** The SASL mechanism and, for XOAUTH2, the token endpoint. */
    private static void checkUpstreamAuth(String at, UpstreamConfig u, Problems p) {
        UpstreamConfig.OAuth2 o = u.oauth2();
        if (u.auth() != UpstreamAuth.XOAUTH2) {
            if (o != null) {
                p.error(at + ".auth", u.auth().key(), "oauth2 is set but auth is " + u.auth().key()
                        + ": set auth: xoauth2, or remove oauth2");
            }
            if (u.auth() != UpstreamAuth.AUTO && u.username() == null) {
                p.missing(at + ".username", "auth: " + u.auth().key() + " needs a username");
            }
            return;
        }
        if (u.username() == null) {
            p.missing(at + ".username", "auth: xoauth2 needs the mailbox to send as in username, "
                    + "e.g. relay@example.com");
        }
        if (u.password() != null) {
            p.error(at + ".password", Problems.MASK, "auth: xoauth2 uses tokens, not a password: remove password "
                    + "and configure oauth2");
        }
        if (o == null) {
            p.missing(at + ".oauth2", "auth: xoauth2 needs oauth2: {token-url, client-id, client-secret, scope} "
                    + "(Microsoft 365) or {token-url, client-id, client-secret, refresh-token} (Google)");
            return;
        }
        String oat = at + ".oauth2";
        if (o.tokenUrl() == null) {
            p.missing(oat + ".token-url", "the token endpoint is required, e.g. "
                    + "https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token or "
                    + "https://oauth2.googleapis.com/token");
        } else if (!"https".equalsIgnoreCase(o.tokenUrl().getScheme()) && !isLoopback(o.tokenUrl().getHost())) {
            p.error(oat + ".token-url", o.tokenUrl().toString(), "the token endpoint must use https "
                    + "(http is for a loopback test endpoint only)");
        }
        if (o.clientId() == null || o.clientId().isBlank()) {
            p.missing(oat + ".client-id", "the OAuth2 client (application) id is required");
        }
        if (o.refreshToken() == null && o.clientSecret() == null) {
            p.missing(oat + ".client-secret", "the client-credentials grant needs client-secret (or "
                    + "client-secret-file); for Google's refresh-token grant set refresh-token too");
        }
    }

    private static boolean positive(Duration d) {
        return d != null && !d.isNegative() && !d.isZero();
    }

    private static boolean isLoopback(String host) {
        String h = host == null ? "" : host.replace("[", "").replace("]", "");
        return h.equals("localhost") || h.startsWith("127.") || h.equals("::1");
    }

    private static void checkUpstream(String at, UpstreamConfig u, Problems p) {
        UpstreamUrl url = u.url();
        if (url == null) {
            p.missing(at + ".url", "the url is required, e.g. smtp://smtp.example.com:587 (STARTTLS) or "
                    + "smtps://smtp.example.com:465 (implicit TLS)");
            return;
        }
        if (url.port() == 25) {
            p.error(at + ".url", url.toString(), PORT_25);
        }
        if (url.username() != null && u.username() != null && !url.username().equals(u.username())) {
            p.error(at + ".username", u.username(), "the url already names the user '" + url.username()
                    + "': give the user in the url or in username, not both");
        }
        if (u.username() != null && u.password() == null && u.auth() != UpstreamAuth.XOAUTH2) {
            p.missing(at + ".password", "user '" + u.username() + "' needs a password: set password-file "
                    + "(e.g. a Kubernetes secret) or password");
        }
        if (u.username() == null && u.password() != null) {
            p.error(at + ".password", Problems.MASK, "a password without a user: set username (or the user "
                    + "in the url, smtp://user@host:587)");
        }
        if (u.tls() == TlsMode.NONE) {
            if (url.isLoopback()) {
                p.warn(at + " (" + url.host() + ") is reached without TLS: acceptable on loopback only");
            } else {
                p.error(at + ".tls", "none", "tls: none is only allowed for a loopback host (127.0.0.1, ::1, "
                        + "localhost), not " + url.host() + ": use starttls (smtp://) or implicit (smtps://)");
            }
        }
    }

    // ---- inbound: sender policy and limits ----

    private static final String DOMAIN = "[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*";

    /** The data timeout, the command limit and the per-user quotas. */
    private static void checkAbuseLimits(LimitsConfig limits, Problems p) {
        if (limits.dataTimeout().toSeconds() < 1 || limits.dataTimeout().compareTo(Duration.ofDays(1)) > 0) {
            p.error("limits.data-timeout", Durations.format(limits.dataTimeout()),
                    "the data timeout must be between 1s and 1d: use e.g. 10m (the default)");
        }
        positive("limits.max-commands-before-mail", limits.maxCommandsBeforeMail(), "50", p);
        if (limits.userMessagesPerMinute() < 0) {
            p.error("limits.user-messages-per-minute", Integer.toString(limits.userMessagesPerMinute()),
                    "must not be negative: use 0 (no limit, the default) or e.g. 60");
        }
        if (limits.userRecipientsPerDay() < 0) {
            p.error("limits.user-recipients-per-day", Long.toString(limits.userRecipientsPerDay()),
                    "must not be negative: use 0 (no limit, the default) or e.g. 10000");
        }
    }

    /** The rules of the {@code auth} policies and of the {@code limits} section. */
    static void checkInbound(AuthConfig auth, LimitsConfig limits, Problems p) {
        checkAbuseLimits(limits, p);
        for (int i = 0; i < auth.trustedSenders().size(); i++) {
            checkSenderPattern("auth.trusted-senders[" + i + "]", auth.trustedSenders().get(i), p);
        }
        Map<String, Integer> users = new HashMap<>();
        for (int i = 0; i < auth.policies().size(); i++) {
            String at = "auth.policies[" + i + "]";
            UserPolicy policy = auth.policies().get(i);
            if (policy == null) {
                p.missing(at, "this policy is empty: set at least its user");
                continue;
            }
            if (policy.user() == null || policy.user().isBlank()) {
                p.missing(at + ".user", "every policy names a user of the users file, or * for every user "
                        + "without a policy of its own");
            } else {
                Integer first = users.putIfAbsent(policy.user(), i);
                if (first != null) {
                    p.error(at + ".user", policy.user(), "user already has a policy at auth.policies[" + first
                            + "]: merge the two");
                }
            }
            for (int j = 0; j < policy.senders().size(); j++) {
                checkSenderPattern(at + ".senders[" + j + "]", policy.senders().get(j), p);
            }
            for (int j = 0; j < policy.recipientDomains().size(); j++) {
                String d = policy.recipientDomains().get(j);
                if (!d.matches(DOMAIN)) {
                    p.error(at + ".recipient-domains[" + j + "]", d, "not a domain name: write it as "
                            + "example.com (no @, no wildcard)");
                }
            }
        }
        if (limits.maxMessageSize() < 1024 || limits.maxMessageSize() > Integer.MAX_VALUE) {
            p.error("limits.max-message-size", Sizes.format(limits.maxMessageSize()),
                    "the size must be between 1KiB and 2GiB - 1 byte, e.g. 25MiB");
        }
        positive("limits.max-recipients", limits.maxRecipients(), "100", p);
        positive("limits.max-connections", limits.maxConnections(), "200", p);
        positive("limits.max-connections-per-client", limits.maxConnectionsPerClient(), "20", p);
        positive("limits.max-messages-per-connection", limits.maxMessagesPerConnection(), "100", p);
        positive("limits.auth-max-failures", limits.authMaxFailures(), "5", p);
        if (limits.maxConnectionsPerClient() > limits.maxConnections()) {
            p.error("limits.max-connections-per-client", Integer.toString(limits.maxConnectionsPerClient()),
                    "more than limits.max-connections (" + limits.maxConnections() + "): lower it or raise "
                            + "limits.max-connections");
        }
        if (limits.idleTimeout().toSeconds() < 1 || limits.idleTimeout().toMillis() > Integer.MAX_VALUE) {
            p.error("limits.idle-timeout", Durations.format(limits.idleTimeout()),
                    "the idle timeout must be at least 1s (RFC 5321 suggests 5m), e.g. 5m");
        }
        if (limits.authLockout().isNegative() || limits.authLockout().isZero()) {
            p.error("limits.auth-lockout", Durations.format(limits.authLockout()),
                    "the lockout must be positive, e.g. 15m");
        }
        if (limits.authFailureDelay().isNegative() || limits.authFailureDelay().compareTo(Duration.ofMinutes(1)) > 0) {
            p.error("limits.auth-failure-delay", Durations.format(limits.authFailureDelay()),
                    "the delay must be between 0s and 1m (it doubles with each failure), e.g. 1s");
        }
    }

    private static void checkSenderPattern(String key, String pattern, Problems p) {
        if (pattern.contains("*") && !pattern.equals("*")) {
            p.error(key, pattern, "no wildcards inside a pattern: write @example.com for every address of a "
                    + "domain, or * alone for any sender");
            return;
        }
        boolean ok = pattern.equals("*")
                || pattern.startsWith("@") && pattern.substring(1).matches(DOMAIN)
                || pattern.indexOf('@') > 0 && pattern.substring(pattern.lastIndexOf('@') + 1).matches(DOMAIN)
                && !pattern.matches(".*[\\s<>].*");
        if (!ok) {
            p.error(key, pattern, "not a sender pattern: write an address (alice@example.com), a domain "
                    + "(@example.com) or * for any sender");
        }
    }

    private static void positive(String key, int value, String example, Problems p) {
        if (value < 1) {
            p.error(key, Integer.toString(value), "must be at least 1, e.g. " + example);
        }
    }
}
