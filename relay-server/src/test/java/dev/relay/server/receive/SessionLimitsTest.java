package dev.relay.server.receive;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SessionLimitsTest {
    private final SessionLimits limits = new SessionLimits("test", 100, () -> 2, () -> Duration.ofMinutes(5),
            () -> Duration.ofMinutes(10), Refusal.Listener.NONE, System::nanoTime);

    private static InetAddress ip(String literal) throws Exception {
        return InetAddress.getByName(literal);
    }

    @Test
    void ipv6ClientsOfOneSlash64ShareTheConnectionsPerClient() throws Exception {
        assertThat(limits.admit(ip("2001:db8::1"))).isNull();
        assertThat(limits.admit(ip("2001:db8::2"))).isNull();
        assertThat(limits.admit(ip("2001:db8::ffff:3"))).as("a third address of the same /64")
                .isEqualTo(SmtpReplies.TOO_MANY_CONNECTIONS_FROM_CLIENT);
        assertThat(limits.admit(ip("2001:db8:0:1::1"))).as("another /64").isNull();
        limits.release(ip("2001:db8::2"));
        assertThat(limits.admit(ip("2001:db8::4"))).as("after one of them ended").isNull();
    }

    @Test
    void ipv4ClientsAreCountedPerAddress() throws Exception {
        assertThat(limits.admit(ip("192.0.2.1"))).isNull();
        assertThat(limits.admit(ip("192.0.2.1"))).isNull();
        assertThat(limits.admit(ip("192.0.2.1"))).isEqualTo(SmtpReplies.TOO_MANY_CONNECTIONS_FROM_CLIENT);
        assertThat(limits.admit(ip("192.0.2.2"))).isNull();
    }
}
