package dev.relay.config;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The rules for {@code upstreams}: each smarthost's url, TLS, credentials, SASL mechanism, pool and rate. */
final class UpstreamChecks {
    private UpstreamChecks() {
    }

    static void check(List<UpstreamConfig> upstreams, Problems p) {
        if (upstreams.isEmpty()) {
            p.missing("upstreams", "at least one upstream (smarthost) is required: add e.g. {name: primary, "
                    + "url: \"smtp://smtp.example.com:587\", username: ..., password-file: ...} "
                    + "or {name: primary, provider: sendgrid, password-file: ...} (provider: "
                    + ProviderPreset.keys() + ") (or RELAY_UPSTREAMS_0_URL=...)");
        }
        Map<String, Integer> names = new HashMap<>();
        for (int i = 0; i < upstreams.size(); i++) {
            String at = "upstreams[" + i + "]";
            UpstreamConfig u = upstreams.get(i);
            if (!p.namedItem("upstreams", i, u, UpstreamConfig::name, names, "upstream", "primary", "url")) {
                continue;
            }
            checkPreset(at, u, p);
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

    /** The {@code provider} preset and its {@code region}; a url set next to a preset is checked against it. */
    private static void checkPreset(String at, UpstreamConfig u, Problems p) {
        ProviderPreset preset = u.provider();
        if (preset == null) {
            if (u.region() != null) {
                p.error(at + ".region", u.region(), "region is only used with a provider preset that has regions "
                        + "(provider: mailgun, provider: ses): set provider, or remove region");
            }
            return;
        }
        String regionProblem = preset.regionProblem(u.region());
        if (regionProblem != null && u.region() == null) {
            p.missing(at + ".region", regionProblem + " (or RELAY_UPSTREAMS_<n>_REGION=...)");
        } else if (regionProblem != null) {
            p.error(at + ".region", u.region(), regionProblem);
        }
        if (u.username() == null) {
            p.missing(at + ".username", "provider: " + preset.key() + " needs username: " + preset.usernameForm());
        } else if (preset.username() != null && !preset.username().equals(u.username())) {
            p.warn(at + ".username is '" + u.username() + "', but " + preset.title() + "'s SMTP user name is "
                    + preset.usernameForm() + " (" + preset.docs() + "): remove username to use it");
        }
        String presetHost = preset.host(u.region());
        if (u.url() != null && presetHost != null && !u.presetFilled().contains("url")
                && !u.url().host().equalsIgnoreCase(presetHost) && !u.url().isLoopback()) {
            p.warn(at + ".url names " + u.url().host() + ", not " + presetHost + ", the host of provider: "
                    + preset.key() + (u.region() == null ? "" : " in region " + u.region())
                    + ": the url wins; check the region, or remove url to use the preset's host");
        }
        if (u.presetFilled().contains("url") && u.tls() == TlsMode.IMPLICIT) {
            p.error(at + ".tls", "implicit", "provider: " + preset.key() + " fills a STARTTLS url (port "
                    + ProviderPreset.PORT + "): for implicit TLS set url: smtps://" + presetHost
                    + ":465 where the provider offers it, or remove tls");
        }
    }

    private static void checkUpstream(String at, UpstreamConfig u, Problems p) {
        UpstreamUrl url = u.url();
        if (url == null && u.provider() != null) {
            return; // the preset could not fill it: checkPreset said why (the region)
        }
        if (url == null) {
            p.missing(at + ".url", "the url is required, e.g. smtp://smtp.example.com:587 (STARTTLS) or "
                    + "smtps://smtp.example.com:465 (implicit TLS)");
            return;
        }
        if (url.port() == 25) {
            p.error(at + ".url", url.toString(), Validator.PORT_25);
        }
        if (url.username() != null && u.username() != null && !url.username().equals(u.username())) {
            p.error(at + ".username", u.username(), "the url already names the user '" + url.username()
                    + "': give the user in the url or in username, not both");
        }
        if (u.username() != null && u.password() == null && u.auth() != UpstreamAuth.XOAUTH2) {
            p.missing(at + ".password", "user '" + u.username() + "' needs a password: set password-file "
                    + "(e.g. a Kubernetes secret) or password" + (u.provider() == null ? ""
                    : "; for provider: " + u.provider().key() + " it is " + u.provider().passwordForm()));
        }
        if (u.username() == null && u.password() != null && u.provider() == null) {
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
