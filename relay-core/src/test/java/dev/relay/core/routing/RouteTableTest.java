package dev.relay.core.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.RouteConfig;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RouteTableTest {
    private static final List<String> UPSTREAMS = List.of("ses", "m365", "sendgrid");

    private static final RouteTable TABLE = RouteTable.of(List.of(
            new RouteConfig("billing-app", List.of(), List.of("billing"), List.of("m365")),
            new RouteConfig("alice", List.of("Alice@Example.org"), List.of(), List.of("sendgrid", "ses")),
            new RouteConfig("example", List.of("@example.org", "@example.com"), List.of(), List.of("ses", "m365")),
            new RouteConfig("bounces", List.of("<>"), List.of(), List.of("sendgrid")),
            new RouteConfig("app-news", List.of("@news.example.net"), List.of("app"), List.of("sendgrid"))),
            UPSTREAMS);

    static Envelope envelope(String sender, String submitter) {
        return Envelope.received(QueueId.next(Instant.EPOCH), MailAddress.of(sender), List.of(MailAddress.of("r@dest.test")),
                Instant.EPOCH, submitter);
    }

    @ParameterizedTest(name = "{0} submitted by ''{1}'' takes route {2}")
    @CsvSource(delimiter = '|', nullValues = "NULL", textBlock = """
            alice@example.org      | app     | alice
            ALICE@EXAMPLE.ORG      | app     | alice
            bob@example.org        | app     | example
            bob@EXAMPLE.com        |         | example
            bob@sub.example.org    | app     | default
            anyone@anywhere.test   | billing | billing-app
            alice@example.org      | billing | billing-app
            ''                     | app     | bounces
            x@news.example.net     | app     | app-news
            x@news.example.net     | other   | default
            x@example.org.evil.test| app     | default
            """)
    void routesAreMatchedInOrderBySenderAndUser(String sender, String submitter, String route) {
        assertThat(TABLE.select(envelope(sender, submitter == null ? "" : submitter)).name()).isEqualTo(route);
    }

    @Test
    void theDefaultRouteTriesEveryUpstreamInConfigurationOrder() {
        Route r = RouteTable.of(List.of(), UPSTREAMS).select(envelope("a@b.test", ""));
        assertThat(r.name()).isEqualTo(RouteTable.DEFAULT);
        assertThat(r.upstreams()).containsExactly("ses", "m365", "sendgrid");
        assertThat(r.rewrite()).isEqualTo(Route.Rewrite.NONE);
    }

    @Test
    void anExplicitCatchAllTakesWhatNoEarlierRouteTook() {
        RouteTable t = RouteTable.of(List.of(
                new RouteConfig("one", List.of("@a.test"), List.of(), List.of("m365")),
                new RouteConfig("rest", List.of("*"), List.of(), List.of("sendgrid", "ses"))), UPSTREAMS);
        assertThat(t.select(envelope("x@a.test", "")).upstreams()).containsExactly("m365");
        assertThat(t.select(envelope("x@b.test", "")).name()).isEqualTo("rest");
        assertThat(t.select(envelope("", "")).upstreams()).containsExactly("sendgrid", "ses");
    }

    @Test
    void theNullSenderMatchesOnlyStarAndBounces() {
        RouteTable t = RouteTable.of(List.of(
                new RouteConfig("dom", List.of("@a.test"), List.of(), List.of("m365"))), UPSTREAMS);
        assertThat(t.select(envelope("", "")).name()).isEqualTo(RouteTable.DEFAULT);
    }
}
