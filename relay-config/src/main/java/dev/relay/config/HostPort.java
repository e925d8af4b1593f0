package dev.relay.config;

import java.util.Locale;
import java.util.Objects;

/**
 * A host (name, IPv4 or IPv6 literal) and a port, written {@code host:port} or {@code [v6]:port}.
 *
 * @param host a host name or address literal, IPv6 without brackets
 * @param port 1 to 65535
 */
public record HostPort(String host, int port) {
    public HostPort {
        Objects.requireNonNull(host, "host");
        host = host.trim();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException("the host is empty: write host:port, e.g. 0.0.0.0:587");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is out of range: use 1 to 65535");
        }
    }

    /** Parses {@code host:port}, {@code [::1]:port}; IPv6 addresses need the brackets. */
    public static HostPort parse(String text) {
        Objects.requireNonNull(text, "text");
        String s = text.trim();
        String host;
        String port;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0 || close + 1 >= s.length() || s.charAt(close + 1) != ':') {
                throw new IllegalArgumentException("write an IPv6 address as [address]:port, e.g. [::1]:587");
            }
            host = s.substring(1, close);
            port = s.substring(close + 2);
        } else {
            int colon = s.lastIndexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("the port is missing: write host:port, e.g. 0.0.0.0:587");
            }
            host = s.substring(0, colon);
            port = s.substring(colon + 1);
            if (host.contains(":")) {
                throw new IllegalArgumentException("write an IPv6 address in brackets: [address]:port, e.g. [::]:587");
            }
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException("the host is empty: write host:port, e.g. 0.0.0.0:587 for all addresses");
        }
        return new HostPort(host, parsePort(port));
    }

    static int parsePort(String port) {
        if (!port.matches("[0-9]{1,9}")) {
            throw new IllegalArgumentException("the port '" + port + "' is not a number: use 1 to 65535");
        }
        return Integer.parseInt(port);
    }

    /** True for {@code localhost}, 127.0.0.0/8 and {@code ::1}: names and literals only, no DNS lookup. */
    public boolean isLoopback() {
        return isLoopbackHost(host);
    }

    /** True for the wildcard address (0.0.0.0 or ::) that listens on every interface. */
    public boolean isWildcard() {
        return host.equals("0.0.0.0") || host.equals("::") || host.equals("0:0:0:0:0:0:0:0");
    }

    static boolean isLoopbackHost(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        if (h.equals("localhost") || h.endsWith(".localhost")) {
            return true;
        }
        if (h.matches("127\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}")) {
            return true;
        }
        if (h.contains(":")) {
            try {
                return Cidr.literal(h).isLoopbackAddress();
            } catch (IllegalArgumentException e) {
                return false;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
