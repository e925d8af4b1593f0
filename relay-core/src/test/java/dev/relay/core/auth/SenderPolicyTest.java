package dev.relay.core.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class SenderPolicyTest {
    final SenderPolicy policy = new SenderPolicy(List.of("@internal.example"))
            .user("alice", List.of("@example.com", "billing@example.org"), List.of())
            .user("bob", List.of("bob@example.com"), List.of("example.com", "example.net"))
            .user("*", List.of("noreply@example.com"), List.of());

    @Test
    void aDomainPatternAllowsEveryAddressOfThatDomainOnly() {
        assertThat(policy.senderAllowed("alice", "anyone@example.com")).isTrue();
        assertThat(policy.senderAllowed("alice", "Anyone@EXAMPLE.com")).isTrue();
        assertThat(policy.senderAllowed("alice", "x@sub.example.com")).isFalse();
        assertThat(policy.senderAllowed("alice", "x@notexample.com")).isFalse();
    }

    @Test
    void anExactAddressAllowsOnlyThatAddress() {
        assertThat(policy.senderAllowed("alice", "billing@example.org")).isTrue();
        assertThat(policy.senderAllowed("alice", "sales@example.org")).isFalse();
        assertThat(policy.senderAllowed("bob", "bob@example.com")).isTrue();
        assertThat(policy.senderAllowed("bob", "alice@example.com")).isFalse();
    }

    @Test
    void theHeaderFromIsCheckedOnlyForUsersWhosePolicySaysSo() {
        SenderPolicy p = new SenderPolicy(List.of("*"))
                .user("strict", List.of("@example.com"), List.of(), true)
                .user("*", List.of("@example.com"), List.of());
        assertThat(p.checksHeaderFrom("strict")).isTrue();
        assertThat(p.checksHeaderFrom("alice")).isFalse();
        assertThat(p.checksHeaderFrom(null)).as("trusted networks have no user policy").isFalse();
        assertThat(policy.checksHeaderFrom("bob")).isFalse();
    }

    @Test
    void usersWithoutAnEntryGetTheStarEntry() {
        assertThat(policy.senderAllowed("carol", "noreply@example.com")).isTrue();
        assertThat(policy.senderAllowed("carol", "carol@example.com")).isFalse();
    }

    @Test
    void withoutAnyEntryEverySenderIsAllowed() {
        SenderPolicy open = SenderPolicy.open();
        assertThat(open.senderAllowed("carol", "carol@example.com")).isTrue();
        assertThat(open.senderAllowed("carol", "")).isTrue();
        assertThat(open.senderAllowed(null, "x@y.example")).isTrue();
    }

    @Test
    void theNullSenderMatchesOnlyStar() {
        assertThat(policy.senderAllowed("alice", "")).isFalse();
        assertThat(new SenderPolicy(List.of("*")).senderAllowed(null, "")).isTrue();
    }

    @Test
    void trustedClientsUseTheTrustedSendersList() {
        assertThat(policy.senderAllowed(null, "cron@internal.example")).isTrue();
        assertThat(policy.senderAllowed(null, "cron@example.com")).isFalse();
    }

    @Test
    void recipientDomainsLimitOnlyTheUsersThatHaveThem() {
        assertThat(policy.recipientAllowed("bob", "x@Example.NET")).isTrue();
        assertThat(policy.recipientAllowed("bob", "x@gmail.example")).isFalse();
        assertThat(policy.recipientAllowed("bob", "x@sub.example.com")).isFalse();
        assertThat(policy.recipientAllowed("alice", "x@gmail.example")).isTrue();
        assertThat(policy.recipientAllowed(null, "x@gmail.example")).isTrue();
    }
}
