package dev.relay.core.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class UserQuotasTest {
    final AuthThrottleTest.FakeClock clock = new AuthThrottleTest.FakeClock();

    @Test
    void messagesPerMinuteSlideWithTheClock() {
        UserQuotas q = new UserQuotas(clock, 3, 0);
        for (int i = 0; i < 3; i++) {
            assertThat(q.mayStartMessage("app")).isTrue();
            q.queued("app", 1);
            clock.advance(Duration.ofSeconds(10));
        }
        assertThat(q.mayStartMessage("app")).as("3 in the last minute").isFalse();
        assertThat(q.mayStartMessage("other")).as("each user has its own quota").isTrue();
        clock.advance(Duration.ofSeconds(29)); // the first is 59s old
        assertThat(q.mayStartMessage("app")).isFalse();
        clock.advance(Duration.ofSeconds(1)); // the first is a minute old: out of the window
        assertThat(q.mayStartMessage("app")).isTrue();
    }

    @Test
    void recipientsPerDayCountWhatWasQueuedAndWhatThisMessageHasAlready() {
        UserQuotas q = new UserQuotas(clock, 0, 10);
        q.queued("app", 6);
        assertThat(q.mayAddRecipient("app", 3)).as("6 queued + 3 pending + 1 = 10").isTrue();
        assertThat(q.mayAddRecipient("app", 4)).isFalse();
        clock.advance(Duration.ofHours(5));
        q.queued("app", 4);
        assertThat(q.mayAddRecipient("app", 0)).isFalse();
        clock.advance(Duration.ofHours(19)); // the first 6 are 24 hours old: out of the window
        assertThat(q.mayAddRecipient("app", 5)).isTrue();
        assertThat(q.mayAddRecipient("app", 6)).isFalse();
        clock.advance(Duration.ofHours(5));
        assertThat(q.mayAddRecipient("app", 9)).isTrue();
    }

    @Test
    void zeroMeansNoLimit() {
        UserQuotas q = new UserQuotas(clock, 0, 0);
        assertThat(q.enabled()).isFalse();
        for (int i = 0; i < 1000; i++) {
            q.queued("app", 100);
        }
        assertThat(q.mayStartMessage("app")).isTrue();
        assertThat(q.mayAddRecipient("app", 100_000)).isTrue();
    }

    @Test
    void aUserRemembersAtMostItsLimitOfTimestamps() {
        UserQuotas q = new UserQuotas(clock, 2, 0);
        for (int i = 0; i < 50; i++) {
            q.queued("app", 1); // e.g. parallel sessions that passed the check together
        }
        assertThat(q.mayStartMessage("app")).isFalse();
        clock.advance(Duration.ofMinutes(1));
        assertThat(q.mayStartMessage("app")).isTrue();
    }

    @Test
    void newLimitsApplyToTheNextCheckAndWhatWasCountedStillCounts() {
        UserQuotas q = new UserQuotas(clock, 2, 0);
        q.queued("app", 1);
        q.queued("app", 1);
        assertThat(q.mayStartMessage("app")).isFalse();
        q.limits(3, 0);
        assertThat(q.mayStartMessage("app")).as("2 of 3 used").isTrue();
        q.queued("app", 1);
        assertThat(q.mayStartMessage("app")).isFalse();
        q.limits(0, 0);
        assertThat(q.mayStartMessage("app")).as("0: no limit").isTrue();
    }
}
