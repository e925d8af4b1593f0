package dev.relay.core.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class ClientAddressTest {
    private static String key(String literal) throws Exception {
        return ClientAddress.key(InetAddress.getByName(literal));
    }

    @Test
    void ipv6AddressesOfOneSlash64HaveOneKey() throws Exception {
        assertThat(key("2001:db8::1")).isEqualTo(key("2001:db8::ffff:1:2:3")).isEqualTo("ip6:20010db800000000::/64");
        assertThat(key("2001:db8:0:1::1")).isNotEqualTo(key("2001:db8::1"));
        assertThat(key("::1")).isEqualTo("ip6:0000000000000000::/64");
    }

    @Test
    void ipv4AddressesAreTheirOwnKey() throws Exception {
        assertThat(key("192.0.2.1")).isEqualTo("ip:192.0.2.1").isNotEqualTo(key("192.0.2.2"));
        assertThat(key("::ffff:192.0.2.1")).as("IPv4-mapped: the IPv4 address").isEqualTo("ip:192.0.2.1");
    }
}
