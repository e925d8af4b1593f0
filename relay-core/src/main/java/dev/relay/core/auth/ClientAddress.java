package dev.relay.core.auth;

import java.net.Inet6Address;
import java.net.InetAddress;

/**
 * Who a client is, for the limits counted per client (AUTH failures, connections per client): its IPv4 address,
 * or the /64 of its IPv6 address, since one host usually has a whole /64 and could otherwise take a fresh address
 * for each connection or each guess.
 */
public final class ClientAddress {
    private ClientAddress() {
    }

    /** The key the client is counted under: {@code ip:192.0.2.1}, or {@code ip6:20010db800000000::/64}. */
    public static String key(InetAddress client) {
        if (client instanceof Inet6Address) {
            byte[] a = client.getAddress();
            StringBuilder sb = new StringBuilder("ip6:");
            for (int i = 0; i < 8; i++) {
                sb.append(String.format("%02x", a[i]));
            }
            return sb.append("::/64").toString();
        }
        return "ip:" + client.getHostAddress();
    }
}
