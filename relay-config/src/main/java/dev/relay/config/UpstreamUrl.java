package dev.relay.config;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Objects;

/**
 * A smarthost address: {@code smtp://[user@]host[:port]} (STARTTLS, default port 587) or
 * {@code smtps://[user@]host[:port]} (implicit TLS, default port 465). A password is never part of it.
 *
 * @param scheme   {@code smtp} or {@code smtps}
 * @param host     host name or address literal, IPv6 without brackets
 * @param port     1 to 65535 (port 25 is refused by the configuration's validation, not here)
 * @param username the user given before {@code @}, or null
 */
public record UpstreamUrl(String scheme, String host, int port, String username) {
    public UpstreamUrl {
        Objects.requireNonNull(scheme, "scheme");
        Objects.requireNonNull(host, "host");
        scheme = scheme.toLowerCase(Locale.ROOT);
        if (!scheme.equals("smtp") && !scheme.equals("smtps")) {
            throw new IllegalArgumentException(
                    "unsupported scheme '" + scheme + "': use smtp:// (STARTTLS) or smtps:// (implicit TLS)");
        }
        host = new HostPort(host, port).host(); // same host/port rules as everywhere else
        if (username != null && username.isEmpty()) {
            username = null;
        }
    }

    /** Parses the URL; the error message says what to write instead. */
    public static UpstreamUrl parse(String text) {
        Objects.requireNonNull(text, "text");
        String s = text.trim();
        int sep = s.indexOf("://");
        if (sep < 0) {
            throw new IllegalArgumentException(
                    "not a URL: write smtp://host:587 (STARTTLS) or smtps://host:465 (implicit TLS)");
        }
        String scheme = s.substring(0, sep).toLowerCase(Locale.ROOT);
        if (!scheme.equals("smtp") && !scheme.equals("smtps")) {
            throw new IllegalArgumentException(
                    "unsupported scheme '" + scheme + "': use smtp:// (STARTTLS) or smtps:// (implicit TLS)");
        }
        String rest = s.substring(sep + 3);
        int slash = rest.indexOf('/');
        if (slash >= 0) {
            if (!rest.substring(slash).equals("/")) {
                throw new IllegalArgumentException("a path is not allowed: write " + scheme + "://host:port");
            }
            rest = rest.substring(0, slash);
        }
        String user = null;
        int at = rest.lastIndexOf('@');
        if (at >= 0) {
            String userInfo = rest.substring(0, at);
            if (userInfo.contains(":")) {
                throw new IllegalArgumentException("do not put the password in the url: use the password or "
                        + "password-file key (RELAY_UPSTREAMS_<n>_PASSWORD_FILE) instead");
            }
            user = URLDecoder.decode(userInfo, StandardCharsets.UTF_8);
            rest = rest.substring(at + 1);
        }
        int defaultPort = scheme.equals("smtps") ? 465 : 587;
        HostPort hp;
        if (rest.startsWith("[") ? rest.endsWith("]") : !rest.contains(":")) {
            hp = new HostPort(rest, defaultPort);
        } else {
            hp = HostPort.parse(rest);
        }
        return new UpstreamUrl(scheme, hp.host(), hp.port(), user);
    }

    /** The text with a password in the user part ({@code user:secret@}) replaced by {@code ****}. */
    static String redact(String text) {
        return text.replaceFirst("^([^:/]*://[^:@/]*):[^@/]*@", "$1:" + Problems.MASK + "@");
    }

    /** STARTTLS for {@code smtp}, implicit TLS for {@code smtps}. */
    public TlsMode defaultTls() {
        return scheme.equals("smtps") ? TlsMode.IMPLICIT : TlsMode.STARTTLS;
    }

    /** True if the host is {@code localhost}, 127.0.0.0/8 or {@code ::1} (by name, no DNS lookup). */
    public boolean isLoopback() {
        return HostPort.isLoopbackHost(host);
    }

    @Override
    public String toString() {
        String h = host.contains(":") ? "[" + host + "]" : host;
        return scheme + "://" + (username == null ? "" : username + "@") + h + ":" + port;
    }
}
