package dev.relay.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;

/**
 * A network in CIDR notation, IPv4 ({@code 10.0.0.0/8}) or IPv6 ({@code fd00::/8}); a bare address means a
 * single host (/32 or /128).
 *
 * @param address      the network address (host bits are ignored when matching)
 * @param prefixLength 0-32 for IPv4, 0-128 for IPv6
 */
public record Cidr(InetAddress address, int prefixLength) {
    public Cidr {
        Objects.requireNonNull(address, "address");
        int max = address.getAddress().length * 8;
        if (prefixLength < 0 || prefixLength > max) {
            throw new IllegalArgumentException("prefix length /" + prefixLength + " is out of range: use /0 to /"
                    + max + " for an " + (max == 32 ? "IPv4" : "IPv6") + " network");
        }
    }

    /** Parses {@code address/prefix} or a bare address; never does a DNS lookup. */
    public static Cidr parse(String text) {
        Objects.requireNonNull(text, "text");
        String s = text.trim();
        int slash = s.indexOf('/');
        InetAddress address = literal(slash < 0 ? s : s.substring(0, slash));
        int max = address.getAddress().length * 8;
        if (slash < 0) {
            return new Cidr(address, max);
        }
        String prefix = s.substring(slash + 1);
        if (!prefix.matches("[0-9]{1,3}")) {
            throw new IllegalArgumentException("the prefix length '" + prefix + "' is not a number: write e.g. "
                    + (max == 32 ? "10.0.0.0/8" : "fd00::/8"));
        }
        return new Cidr(address, Integer.parseInt(prefix));
    }

    /** An IPv4 or IPv6 literal as an address, refusing host names (no DNS lookup). */
    static InetAddress literal(String text) {
        String s = text.trim();
        if (s.startsWith("[") && s.endsWith("]")) {
            s = s.substring(1, s.length() - 1);
        }
        boolean v4 = s.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}");
        boolean v6 = s.contains(":") && s.matches("[0-9a-fA-F:.]+");
        if (v4) {
            for (String part : s.split("\\.")) {
                if (Integer.parseInt(part) > 255) {
                    throw new IllegalArgumentException("'" + text + "' is not a valid IPv4 address");
                }
            }
        }
        if (!v4 && !v6) {
            throw new IllegalArgumentException("'" + text + "' is not an IP address: write an IPv4 or IPv6 network"
                    + " such as 10.0.0.0/8 or fd00::/8 (host names are not accepted)");
        }
        try {
            return InetAddress.getByName(s); // a literal: no lookup
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + text + "' is not a valid IP address");
        }
    }

    /** True if {@code candidate} is in this network; an IPv4 address never matches an IPv6 network. */
    public boolean contains(InetAddress candidate) {
        byte[] net = address.getAddress();
        byte[] other = candidate.getAddress();
        if (net.length != other.length) {
            return false;
        }
        int bits = prefixLength;
        for (int i = 0; i < net.length && bits > 0; i++, bits -= 8) {
            int mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
            if ((net[i] & mask) != (other[i] & mask)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return format(address) + "/" + prefixLength;
    }

    /** IPv4 dotted, IPv6 in the short form of RFC 5952 ({@code ::1}, {@code fd00::}). */
    static String format(InetAddress address) {
        byte[] b = address.getAddress();
        if (b.length == 4) {
            return address.getHostAddress();
        }
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLength = 1; // a single zero group is not shortened
        for (int i = 0; i < 8; ) {
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLength - 1;
                continue;
            }
            if (!sb.isEmpty() && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(groups[i]));
        }
        return sb.toString();
    }

    /**
     * True if this network is so wide that trusting it makes an open relay: an IPv4 prefix shorter than /8 (at
     * least two /8s: more than any one organisation's private range, {@code 10.0.0.0/8}) or an IPv6 prefix
     * shorter than /7 ({@code 2000::/3} is all global unicast; {@code fc00::/7}, the unique local range, is fine).
     */
    public boolean coversTheInternet() {
        return prefixLength < (address instanceof java.net.Inet6Address ? 7 : 8);
    }
}
