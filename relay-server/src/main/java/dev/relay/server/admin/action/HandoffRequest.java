package dev.relay.server.admin.action;

import dev.relay.config.HandoffConfig;
import dev.relay.config.TlsMode;
import dev.relay.config.UpstreamUrl;
import java.nio.file.Path;
import java.time.Duration;

/**
 * What an operator asks of a hand-off by hand ({@code relay queue handoff}, {@code POST /api/queue/handoff}): each
 * part given overrides the configured {@code handoff.*}; null parts keep it.
 *
 * @param to       the peer, {@code smtps://host:port} or {@code smtp://host:port}
 * @param user     a user of the peer's users file
 * @param password that user's password
 * @param trust    CA or peer certificates to trust (a stopped relay's hand-off only)
 * @param timeout  how long the hand-off may take at most
 */
public record HandoffRequest(String to, String user, String password, Path trust, Duration timeout) {
    /** Everything as configured. */
    public static final HandoffRequest CONFIGURED = new HandoffRequest(null, null, null, null, null);

    @Override
    public String toString() { // never the password
        return "HandoffRequest[to=" + to + ", user=" + user + ", password=" + (password == null ? "null" : "***")
                + ", trust=" + trust + ", timeout=" + timeout + "]";
    }

    /**
     * The configured hand-off {@code h} with this request's parts applied.
     *
     * @throws IllegalArgumentException naming the option and the key when a part is missing or not allowed
     */
    public HandoffConfig apply(HandoffConfig h) {
        UpstreamUrl url = to != null ? UpstreamUrl.parse(to) : h.to();
        if (url == null) {
            throw new IllegalArgumentException("no peer: give --to URL (\"to\" in the request) or set handoff.to "
                    + "(RELAY_HANDOFF_TO)");
        }
        String u = user != null ? user : h.user();
        String pw = password != null ? password : h.password();
        if (u == null || pw == null) {
            throw new IllegalArgumentException("the peer needs credentials: give --user and --password-file "
                    + "(\"user\" and \"password\" in the request), or set handoff.user and handoff.password-file "
                    + "(RELAY_HANDOFF_USER, RELAY_HANDOFF_PASSWORD_FILE)");
        }
        if (h.tls() == TlsMode.NONE && h.to() != null && url != h.to() && !url.isLoopback()) {
            throw new IllegalArgumentException("handoff.tls is none, which is only for a loopback peer: remove it to "
                    + "hand off to " + url + " over TLS");
        }
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new IllegalArgumentException("the hand-off needs time: give a timeout such as 2m");
        }
        boolean sameScheme = h.to() != null && h.to().scheme().equals(url.scheme());
        return new HandoffConfig(url, u, pw, sameScheme ? h.tls() : null, trust != null ? trust : h.trust(),
                timeout != null ? timeout : h.timeout(), h.maxHops());
    }
}
