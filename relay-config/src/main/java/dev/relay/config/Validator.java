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
        UpstreamChecks.check(upstreams, p);
        checkAdmin(admin, p);
    }

    private static void checkQueue(QueueConfig queue, Problems p) {
        if (p.hasErrorAt("queue.retry-delay")) {
            return;
        }
        boolean minOk = positive(queue.minBackoff(), "queue.min-backoff", "1m", p);
        boolean maxOk = positive(queue.maxBackoff(), "queue.max-backoff", "1h", p);
        boolean lifetimeOk = positive(queue.maxLifetime(), "queue.max-lifetime", "5d", p);
        positive(queue.failedRetention(), "queue.failed-retention", "7d", p);
        positive(queue.accountProblemLifetime(), "queue.account-problem-lifetime", "5d", p);
        if (minOk && maxOk && queue.maxBackoff().compareTo(queue.minBackoff()) < 0) {
            p.error("queue.max-backoff", Durations.format(queue.maxBackoff()), "the maximum backoff is shorter "
                    + "than queue.min-backoff (" + Durations.format(queue.minBackoff()) + "): make it at least as long, "
                    + "e.g. 1h");
        }
        Duration warning = queue.delayWarning();
        if (warning != null && positive(warning, "queue.delay-warning", "4h, or off", p) && lifetimeOk
                && warning.compareTo(queue.maxLifetime()) >= 0) {
            p.error("queue.delay-warning", Durations.format(warning), "the delay warning comes at or after "
                    + "queue.max-lifetime (" + Durations.format(queue.maxLifetime()) + "), when the message expires "
                    + "and bounces instead: make it shorter, e.g. 4h, or off");
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
            if (!p.namedItem("listeners", i, l, ListenerConfig::name, names, "listener", "submission",
                    "bind address")) {
                continue;
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
