package dev.relay.core.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class AuthThrottleTest {
    static final class FakeClock implements InstantSource {
        Instant now = Instant.parse("2026-11-01T10:00:00Z");

        @Override
        public Instant instant() {
            return now;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }
    }

    final FakeClock clock = new FakeClock();
    final AtomicInteger lockouts = new AtomicInteger();
    final AuthThrottle throttle = new AuthThrottle(clock, 3, Duration.ofMinutes(10), Duration.ofSeconds(1),
            new AuthListener() {
                @Override
                public void lockedOut() {
                    lockouts.incrementAndGet();
                }
            });

    static InetAddress ip(String s) throws Exception {
        return InetAddress.getByName(s);
    }

    @Test
    void theDelayDoublesWithEachFailure() throws Exception {
        assertThat(throttle.failed(ip("192.0.2.1"), "app")).isEqualTo(Duration.ofSeconds(1));
        assertThat(throttle.failed(ip("192.0.2.1"), "app")).isEqualTo(Duration.ofSeconds(2));
        assertThat(throttle.failed(ip("192.0.2.1"), "app")).isEqualTo(Duration.ofSeconds(4));
    }

    @Test
    void theAddressIsLockedOutAfterMaxFailuresAndFreeAgainAfterTheLockout() throws Exception {
        InetAddress client = ip("192.0.2.1");
        for (String user : new String[] {"a", "b", "c"}) { // password spraying: other users each time
            assertThat(throttle.addressLocked(client)).isEmpty();
            throttle.failed(client, user);
        }
        assertThat(throttle.addressLocked(client)).contains(Duration.ofMinutes(10));
        assertThat(throttle.userLocked("a", client)).isEmpty();
        assertThat(lockouts).hasValue(1);
        clock.advance(Duration.ofMinutes(9));
        assertThat(throttle.addressLocked(client)).contains(Duration.ofMinutes(1));
        clock.advance(Duration.ofMinutes(1));
        assertThat(throttle.addressLocked(client)).isEmpty();
        assertThat(throttle.failed(client, "d")).as("counting starts again").isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void aUserIsLockedOutWhateverAddressTheGuessesComeFrom() throws Exception {
        throttle.failed(ip("192.0.2.1"), "app");
        throttle.failed(ip("192.0.2.2"), "app");
        throttle.failed(ip("192.0.2.3"), "app");
        assertThat(throttle.userLocked("app", ip("192.0.2.99"))).isPresent();
        assertThat(throttle.addressLocked(ip("192.0.2.4"))).isEmpty();
    }

    @Test
    void aStrangersFailuresDoNotLockOutAClientThatLoggedInFromItsAddressBefore() throws Exception {
        throttle.succeeded("app", ip("192.0.2.10"));
        throttle.succeeded("app", ip("2001:db8:1:2::10"));
        for (int i = 0; i < 3; i++) {
            throttle.failed(ip("198.51.100.7"), "app");
        }
        assertThat(throttle.userLocked("app", ip("198.51.100.8"))).as("a new address: the user lockout holds")
                .isPresent();
        assertThat(throttle.userLocked("app", ip("192.0.2.10"))).as("the application's usual address").isEmpty();
        assertThat(throttle.userLocked("app", ip("2001:db8:1:2::99"))).as("the same /64").isEmpty();
        assertThat(throttle.userLocked("other", ip("192.0.2.10"))).isEmpty();
        throttle.failed(ip("203.0.113.1"), "other");
        throttle.failed(ip("203.0.113.2"), "other");
        throttle.failed(ip("203.0.113.3"), "other");
        assertThat(throttle.userLocked("other", ip("192.0.2.10"))).as("known for app, not for other").isPresent();
    }

    @Test
    void aKnownClientIsForgottenAfterTheKnownClientPeriod() throws Exception {
        throttle.succeeded("app", ip("192.0.2.10"));
        clock.advance(AuthThrottle.KNOWN_CLIENT_PERIOD);
        for (int i = 0; i < 3; i++) {
            throttle.failed(ip("198.51.100.7"), "app");
        }
        assertThat(throttle.userLocked("app", ip("192.0.2.10"))).isPresent();
    }

    @Test
    void theKnownClientTableStaysBounded() throws Exception {
        for (int i = 0; i < AuthThrottle.MAX_ENTRIES + 5_000; i++) {
            throttle.succeeded("u" + i, InetAddress.getByAddress(new byte[] {10, (byte) (i >> 16), (byte) (i >> 8),
                    (byte) i}));
        }
        assertThat(throttle.knownClients()).isLessThanOrEqualTo(AuthThrottle.MAX_ENTRIES);
    }

    @Test
    void failuresOlderThanTheLockoutPeriodAreForgotten() throws Exception {
        throttle.failed(ip("192.0.2.1"), "app");
        throttle.failed(ip("192.0.2.1"), "app");
        clock.advance(Duration.ofMinutes(10));
        throttle.failed(ip("192.0.2.1"), "app");
        assertThat(throttle.addressLocked(ip("192.0.2.1"))).isEmpty();
        assertThat(throttle.userLocked("app", ip("192.0.2.99"))).isEmpty();
    }

    @Test
    void aSuccessForgetsTheUsersFailuresButNotTheAddresses() throws Exception {
        throttle.failed(ip("192.0.2.1"), "app");
        throttle.failed(ip("192.0.2.1"), "app");
        throttle.succeeded("app", ip("192.0.2.9"));
        throttle.failed(ip("192.0.2.1"), "app");
        assertThat(throttle.userLocked("app", ip("192.0.2.99"))).isEmpty();
        assertThat(throttle.addressLocked(ip("192.0.2.1"))).isPresent();
    }

    @Test
    void ipv6ClientsAreCountedPerSlash64() throws Exception {
        throttle.failed(ip("2001:db8::1"), null);
        throttle.failed(ip("2001:db8::2"), null);
        throttle.failed(ip("2001:db8::ffff:3"), null);
        assertThat(throttle.addressLocked(ip("2001:db8::99"))).isPresent();
        assertThat(throttle.addressLocked(ip("2001:db8:0:1::1"))).isEmpty();
    }

    @Test
    void theDelayIsCapped() throws Exception {
        AuthThrottle t = new AuthThrottle(clock, 100, Duration.ofMinutes(10), Duration.ofSeconds(1),
                AuthListener.NONE);
        Duration last = Duration.ZERO;
        for (int i = 0; i < 50; i++) {
            last = t.failed(ip("192.0.2.1"), null);
        }
        assertThat(last).isEqualTo(Duration.ofSeconds(16));
    }

    @Test
    void theTableStaysBoundedUnderAnAttackFromManyAddresses() throws Exception {
        AuthThrottle t = new AuthThrottle(clock, 5, Duration.ofMinutes(10), Duration.ZERO, AuthListener.NONE);
        for (int i = 0; i < AuthThrottle.MAX_ENTRIES + 5_000; i++) {
            t.failed(InetAddress.getByAddress(new byte[] {10, (byte) (i >> 16), (byte) (i >> 8), (byte) i}), null);
        }
        assertThat(t.size()).isLessThanOrEqualTo(AuthThrottle.MAX_ENTRIES);
    }

    @Test
    void newSettingsApplyToTheNextFailure() throws Exception {
        InetAddress client = ip("192.0.2.1");
        throttle.failed(client, "a");
        throttle.settings(2, Duration.ofMinutes(1), Duration.ofMillis(100));
        assertThat(throttle.failed(client, "b")).as("the second failure, at the new base delay")
                .isEqualTo(Duration.ofMillis(200));
        assertThat(throttle.addressLocked(client)).as("2 failures: the new maximum").contains(Duration.ofMinutes(1));
    }
}
