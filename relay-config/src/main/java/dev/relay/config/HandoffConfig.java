package dev.relay.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The hand-off on scale-down: when the relay stops (SIGTERM), after the grace period's deliveries, what is still
 * queued is relayed to a peer relay over authenticated SMTP ({@code handoff.*}). Off when {@code to} is null.
 *
 * @param to       the peer: {@code smtps://host:port} (implicit TLS) or {@code smtp://host:port} (STARTTLS,
 *                 required); null: no hand-off
 * @param user     a user of the peer's users file (AUTH); required with {@code to}
 * @param password that user's password (read from {@code password-file}); required with {@code to}
 * @param tls      how the connection is protected; default from the scheme; {@code none} on loopback only
 * @param trust    a PEM file of CA certificates or of the peer's own certificate, trusted besides the system
 *                 store, or null
 * @param timeout  how long the hand-off may take at most; default 30s (keep it within the termination grace)
 * @param maxHops  a message that has been handed off this many times is not taken again (loops); default 3
 */
public record HandoffConfig(UpstreamUrl to, String user, String password, TlsMode tls, Path trust,
                            Duration timeout, int maxHops) {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    public static final int DEFAULT_MAX_HOPS = 3;

    public HandoffConfig {
        if (tls == null && to != null) {
            tls = to.defaultTls();
        }
        timeout = timeout == null ? DEFAULT_TIMEOUT : timeout;
        maxHops = maxHops == 0 ? DEFAULT_MAX_HOPS : maxHops;
    }

    /** No hand-off (the default). */
    public static HandoffConfig off() {
        return new HandoffConfig(null, null, null, null, null, null, 0);
    }

    /** Whether a peer is configured. */
    public boolean enabled() {
        return to != null;
    }

    static void check(HandoffConfig h, Problems p) {
        if (h.timeout.isNegative() || h.timeout.isZero()) {
            p.error("handoff.timeout", Durations.format(h.timeout), "the hand-off needs time: set handoff.timeout "
                    + "(RELAY_HANDOFF_TIMEOUT) to e.g. 30s, less than the termination grace period");
        }
        if (h.maxHops < 1 || h.maxHops > 10) {
            p.error("handoff.max-hops", Integer.toString(h.maxHops), "set handoff.max-hops (RELAY_HANDOFF_MAX_HOPS) "
                    + "to 1 to 10, e.g. 3");
        }
        if (!h.enabled()) {
            if (h.user != null || h.password != null || h.trust != null) {
                p.missing("handoff.to", "handoff.user, password or trust are set but handoff.to is not: set "
                        + "handoff.to (RELAY_HANDOFF_TO) to the peers, e.g. smtps://relay.mail.svc:2465");
            }
            return;
        }
        if (h.to.port() == 25) {
            p.error("handoff.to", h.to.toString(), "port 25 is never used: give the peers' submission port, e.g. "
                    + "smtps://relay.mail.svc:2465");
        }
        if (h.user == null || h.user.isBlank()) {
            p.missing("handoff.user", "the hand-off authenticates to the peer: set handoff.user "
                    + "(RELAY_HANDOFF_USER) to a user of the peers' users file");
        }
        if (h.password == null) {
            p.missing("handoff.password-file", "the hand-off authenticates to the peer: set "
                    + "handoff.password-file (RELAY_HANDOFF_PASSWORD_FILE) to a file holding handoff.user's password");
        }
        if (h.tls == TlsMode.NONE && !h.to.isLoopback()) {
            p.error("handoff.tls", "none", "the hand-off carries mail and a password: tls: none is only allowed for "
                    + "a loopback peer; remove handoff.tls (RELAY_HANDOFF_TLS) to use the scheme's TLS (smtps:// or smtp:// + STARTTLS)");
        }
    }

    @Override
    public String toString() {
        return "HandoffConfig[to=" + to + ", user=" + user + ", password=" + (password == null ? "null" : Problems.MASK)
                + ", tls=" + (tls == null ? null : tls.key()) + ", trust=" + trust + ", timeout="
                + Durations.format(timeout) + ", max-hops=" + maxHops + "]";
    }
}
