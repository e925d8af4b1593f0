package dev.relay.config;

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
        checkListeners(listeners, tls, admin, p);
        checkAuth(auth, p);
        if (spool.dir() == null) {
            p.missing("spool.dir", "the spool directory is required: set spool.dir (RELAY_SPOOL_DIR), "
                    + "e.g. /var/spool/relay");
        }
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

    /** The queue API can delete mail: off loopback it needs a token. */
    private static void checkAdmin(AdminConfig admin, Problems p) {
        if (admin.bind() != null && !admin.bind().isLoopback() && admin.token() == null
                && !p.hasErrorAt("admin.token") && !p.hasErrorAt("admin.token-file")) {
            p.missing("admin.token", "admin.bind " + admin.bind() + " is not a loopback address, so the queue API "
                    + "needs a bearer token: set admin.token-file (e.g. a Kubernetes secret) or admin.token, or bind "
                    + "the admin endpoint to 127.0.0.1");
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
        }
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
        if (u.username() != null && u.password() == null) {
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
}
