package dev.relay.core.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.AddressRewrite;
import dev.relay.config.RouteConfig;
import dev.relay.core.delivery.DeliveryEngine;
import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.Body;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RoutingEngineTest {
    private static final MailAddress A = MailAddress.of("a@dest.test");
    private static final MailAddress B = MailAddress.of("b@dest.test");
    private static final String CONTENT = "From: App <app@customer.test>\r\nSubject: hi\r\n\r\nhello\r\n";

    @TempDir
    Path dir;
    Path file;
    Body body;
    Path work;
    Instant now = Instant.parse("2025-01-01T00:00:00Z");
    final InstantSource clock = () -> now;
    final Map<String, CircuitState> states = new LinkedHashMap<>();

    /** An upstream that answers what the test says and remembers what it was given. */
    static final class Scripted implements DeliveryEngine {
        final String name;
        volatile Function<MailAddress, Outcome> rule;
        final List<Envelope> seen = new CopyOnWriteArrayList<>();
        final List<String> contents = new CopyOnWriteArrayList<>();
        final List<Body> bodies = new CopyOnWriteArrayList<>();
        boolean closed;
        /** Non-null: no attempt is made, as when the rate limit is used up; the wait until it grants again. */
        volatile Duration noAttempt;

        Scripted(String name, Function<MailAddress, Outcome> rule) {
            this.name = name;
            this.rule = rule;
        }

        @Override
        public CompletableFuture<DeliveryReport> deliver(Envelope envelope, Body body) {
            seen.add(envelope);
            bodies.add(body);
            try {
                try (java.io.InputStream in = body.open()) {
                    contents.add(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                throw new AssertionError(e);
            }
            if (noAttempt != null) {
                return CompletableFuture.completedFuture(DeliveryReport.notAttempted(name, envelope.recipients(),
                        "rate limit of upstream " + name + " reached", noAttempt));
            }
            Map<MailAddress, Outcome> map = new LinkedHashMap<>();
            envelope.recipients().forEach(r -> map.put(r, rule.apply(r)));
            return CompletableFuture.completedFuture(new DeliveryReport(name, map));
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    static Outcome refused() {
        return new Outcome.TransientFailure("cannot connect to 127.0.0.1:1: connection refused");
    }

    static Outcome ok() {
        return new Outcome.Delivered("250 2.0.0 ok");
    }

    final Scripted first = new Scripted("first", r -> ok());
    final Scripted second = new Scripted("second", r -> ok());

    @BeforeEach
    void content() throws IOException {
        file = Files.writeString(dir.resolve("body"), CONTENT);
        body = Body.wholeFile(file);
        work = dir.resolve("work");
    }

    private RoutingEngine engine(List<RouteConfig> routes) {
        Map<String, DeliveryEngine> engines = new LinkedHashMap<>();
        engines.put("first", first);
        engines.put("second", second);
        return new RoutingEngine(RouteTable.of(routes, List.of("first", "second")), engines,
                new CircuitBreaker.Policy(2, Duration.ofMinutes(1), Duration.ofSeconds(30)), clock, work,
                states::put);
    }

    private static Envelope envelope(String sender, MailAddress... to) {
        return Envelope.received(QueueId.next(Instant.EPOCH), MailAddress.of(sender), List.of(to), Instant.EPOCH,
                "app");
    }

    private static DeliveryReport get(CompletableFuture<DeliveryReport> f) throws Exception {
        return f.get(5, TimeUnit.SECONDS);
    }

    @Test
    void aRefusedConnectionFailsOverToTheNextUpstreamWithNothingLost() throws Exception {
        first.rule = r -> refused();
        try (RoutingEngine engine = engine(List.of())) {
            DeliveryReport report = get(engine.deliver(envelope("app@customer.test", A, B), body));
            assertThat(report.upstream()).isEqualTo("first,second");
            assertThat(report.byRecipient()).containsOnlyKeys(A, B);
            assertThat(report.recipientsWith(Outcome.Delivered.class)).containsExactly(A, B);
            assertThat(second.seen.get(0).recipients()).containsExactly(A, B);
            assertThat(second.contents).containsExactly(CONTENT);
        }
    }

    @Test
    void onlyTheRecipientsStillPendingGoToTheNextUpstream() throws Exception {
        first.rule = r -> r.equals(A) ? ok() : new Outcome.TransientFailure("452 4.2.2 mailbox full");
        try (RoutingEngine engine = engine(List.of())) {
            DeliveryReport report = get(engine.deliver(envelope("app@customer.test", A, B), body));
            assertThat(second.seen).singleElement().satisfies(e -> assertThat(e.recipients()).containsExactly(B));
            assertThat(report.byRecipient().get(A)).isEqualTo(ok());
            assertThat(report.byRecipient().get(B)).isEqualTo(ok());
            assertThat(List.copyOf(report.byRecipient().keySet())).containsExactly(A, B);
        }
    }

    @Test
    void aPermanentFailureDoesNotFailOver() throws Exception {
        first.rule = r -> r.equals(A) ? new Outcome.PermanentFailure("550 5.1.1 unknown") : ok();
        try (RoutingEngine engine = engine(List.of())) {
            DeliveryReport report = get(engine.deliver(envelope("app@customer.test", A, B), body));
            assertThat(second.seen).isEmpty();
            assertThat(report.upstream()).isEqualTo("first");
            assertThat(report.byRecipient().get(A)).isInstanceOf(Outcome.PermanentFailure.class);
            assertThat(report.byRecipient().get(B)).isEqualTo(ok());
        }
    }

    @Test
    void whenEveryUpstreamFailsEachRecipientKeepsTheLastUpstreamsOutcome() throws Exception {
        first.rule = r -> refused();
        second.rule = r -> new Outcome.TransientFailure("421 4.7.0 try later");
        try (RoutingEngine engine = engine(List.of())) {
            DeliveryReport report = get(engine.deliver(envelope("app@customer.test", A), body));
            assertThat(report.byRecipient().get(A).detail()).isEqualTo("421 4.7.0 try later");
            assertThat(report.upstream()).isEqualTo("first,second");
        }
    }

    @Test
    void theRouteOrderDecidesWhichUpstreamIsTriedFirst() throws Exception {
        try (RoutingEngine engine = engine(List.of(
                new RouteConfig("reverse", List.of("@customer.test"), List.of(), List.of("second", "first"))))) {
            DeliveryReport report = get(engine.deliver(envelope("app@customer.test", A), body));
            assertThat(report.upstream()).isEqualTo("second");
            assertThat(first.seen).isEmpty();
            get(engine.deliver(envelope("app@other.test", A), body));
            assertThat(first.seen).hasSize(1);
        }
    }

    @Test
    void aFailingUpstreamIsSkippedOnceItsCircuitIsOpenAndProbedAfterTheCoolDown() throws Exception {
        first.rule = r -> refused();
        try (RoutingEngine engine = engine(List.of())) {
            get(engine.deliver(envelope("app@customer.test", A), body));
            get(engine.deliver(envelope("app@customer.test", A), body));
            assertThat(engine.circuitState("first")).isEqualTo(CircuitState.OPEN);
            assertThat(states).containsEntry("first", CircuitState.OPEN).containsEntry("second", CircuitState.CLOSED);

            DeliveryReport skipped = get(engine.deliver(envelope("app@customer.test", A), body));
            assertThat(first.seen).hasSize(2);
            assertThat(skipped.upstream()).isEqualTo("second");

            now = now.plusSeconds(30);
            first.rule = r -> ok();
            DeliveryReport probe = get(engine.deliver(envelope("app@customer.test", A), body));
            assertThat(probe.upstream()).isEqualTo("first");
            assertThat(engine.circuitState("first")).isEqualTo(CircuitState.CLOSED);
            assertThat(states).containsEntry("first", CircuitState.CLOSED);
        }
    }

    @Test
    void anUpstreamThatMakesNoAttemptFailsOverAndCountsNoFailureOfItsCircuit() throws Exception {
        first.noAttempt = Duration.ofHours(2);
        try (RoutingEngine engine = engine(List.of())) {
            for (int i = 0; i < 3; i++) { // two failures would open it
                DeliveryReport report = get(engine.deliver(envelope("app@customer.test", A), body));
                assertThat(report.upstream()).isEqualTo("second");
                assertThat(report.recipientsWith(Outcome.Delivered.class)).containsExactly(A);
                assertThat(report.notAttempted()).isNull();
            }
            assertThat(engine.circuitState("first")).isEqualTo(CircuitState.CLOSED);
        }
    }

    @Test
    void whenNoUpstreamMakesAnAttemptTheReportSaysSoAndWhenTheSoonestOneCanTakeIt() throws Exception {
        first.noAttempt = Duration.ofHours(2);
        second.noAttempt = Duration.ofHours(1);
        try (RoutingEngine engine = engine(List.of())) {
            DeliveryReport report = get(engine.deliver(envelope("app@customer.test", A, B), body));
            assertThat(report.notAttempted()).isEqualTo(new DeliveryReport.NotAttempted(Duration.ofHours(1)));
            assertThat(report.circuit()).isNull();
            assertThat(report.recipientsWith(Outcome.TransientFailure.class)).containsExactly(A, B);
            assertThat(engine.circuitState("first")).isEqualTo(CircuitState.CLOSED);
            assertThat(engine.circuitState("second")).isEqualTo(CircuitState.CLOSED);
        }
    }

    @Test
    void aProbeThatMakesNoAttemptGoesBackForTheNextMessage() throws Exception {
        first.rule = r -> refused();
        try (RoutingEngine engine = engine(List.of())) {
            List<String> changed = new CopyOnWriteArrayList<>();
            engine.watchCircuits(changed::add);
            get(engine.deliver(envelope("app@customer.test", A), body));
            get(engine.deliver(envelope("app@customer.test", A), body));
            assertThat(engine.circuitState("first")).isEqualTo(CircuitState.OPEN);
            now = now.plusSeconds(30);
            changed.clear();
            first.noAttempt = Duration.ofHours(1);
            get(engine.deliver(envelope("app@customer.test", A), body)); // takes the probe, makes no attempt
            assertThat(engine.circuitState("first")).isEqualTo(CircuitState.HALF_OPEN);
            assertThat(engine.availableAt("first")).as("the probe may go again, not 'in flight'")
                    .isEqualTo(Instant.MIN);
            assertThat(changed).as("waiting mail is told").contains("first");
            first.noAttempt = null;
            first.rule = r -> ok();
            DeliveryReport probe = get(engine.deliver(envelope("app@customer.test", A), body));
            assertThat(probe.upstream()).isEqualTo("first");
            assertThat(engine.circuitState("first")).isEqualTo(CircuitState.CLOSED);
        }
    }

    @Test
    void whileTheProbeIsInFlightOtherMessagesGoToTheNextUpstream() throws Exception {
        first.rule = r -> refused();
        Map<String, DeliveryEngine> engines = new LinkedHashMap<>();
        CompletableFuture<DeliveryReport> probeReply = new CompletableFuture<>();
        List<Envelope> probes = new CopyOnWriteArrayList<>();
        DeliveryEngine slowFirst = new DeliveryEngine() {
            @Override
            public CompletableFuture<DeliveryReport> deliver(Envelope envelope, Body content) {
                if (now.isBefore(Instant.parse("2025-01-01T00:00:30Z"))) {
                    return first.deliver(envelope, content);
                }
                probes.add(envelope);
                return probeReply;
            }

            @Override
            public void close() {}
        };
        engines.put("first", slowFirst);
        engines.put("second", second);
        try (RoutingEngine engine = new RoutingEngine(RouteTable.of(List.of(), List.of("first", "second")), engines,
                new CircuitBreaker.Policy(2, Duration.ofMinutes(1), Duration.ofSeconds(30)), clock, work,
                states::put)) {
            get(engine.deliver(envelope("app@customer.test", A), body));
            get(engine.deliver(envelope("app@customer.test", A), body));
            now = now.plusSeconds(30);
            CompletableFuture<DeliveryReport> probe = engine.deliver(envelope("app@customer.test", A), body);
            assertThat(engine.circuitState("first")).isEqualTo(CircuitState.HALF_OPEN);
            assertThat(states).containsEntry("first", CircuitState.HALF_OPEN);
            DeliveryReport other = get(engine.deliver(envelope("app@customer.test", B), body));
            assertThat(other.upstream()).isEqualTo("second");
            assertThat(probes).hasSize(1);
            assertThat(probe).isNotDone();
            probeReply.complete(DeliveryReport.all("first", List.of(A), ok()));
            assertThat(get(probe).upstream()).isEqualTo("first");
            assertThat(engine.circuitState("first")).isEqualTo(CircuitState.CLOSED);
        }
    }

    @Test
    void whenEveryUpstreamIsOpenTheMessageFailsTransiently() throws Exception {
        first.rule = r -> refused();
        second.rule = r -> refused();
        try (RoutingEngine engine = engine(List.of())) {
            get(engine.deliver(envelope("app@customer.test", A), body));
            get(engine.deliver(envelope("app@customer.test", A), body));
            DeliveryReport report = get(engine.deliver(envelope("app@customer.test", A, B), body));
            assertThat(first.seen).hasSize(2);
            assertThat(second.seen).hasSize(2);
            assertThat(report.recipientsWith(Outcome.TransientFailure.class)).containsExactly(A, B);
            assertThat(report.byRecipient().get(A).detail()).contains("all upstreams unavailable",
                    "first, second");
        }
    }

    @Test
    void aRecipient4xxAmongDeliveriesDoesNotCountAgainstTheUpstream() throws Exception {
        first.rule = r -> r.equals(A) ? ok() : new Outcome.TransientFailure("452 4.2.2 mailbox full");
        try (RoutingEngine engine = engine(List.of())) {
            for (int i = 0; i < 3; i++) {
                get(engine.deliver(envelope("app@customer.test", A, B), body));
            }
            assertThat(engine.circuitState("first")).isEqualTo(CircuitState.CLOSED);
        }
    }

    @Test
    void anAccountReplyFailsOverWithoutCountingAgainstTheUpstreamsCircuit() throws Exception {
        dev.relay.core.delivery.AccountReplies.Verdict limit = new dev.relay.core.delivery.AccountReplies.Verdict(
                dev.relay.core.delivery.AccountReplies.Action.DEFER, "daily_limit", "wait", Duration.ofHours(24));
        first.rule = r -> new Outcome.TransientFailure("550 5.4.5 Daily user sending limit exceeded.", limit);
        try (RoutingEngine engine = engine(List.of())) {
            for (int i = 0; i < 3; i++) { // two failures would open it
                DeliveryReport report = get(engine.deliver(envelope("app@customer.test", A), body));
                assertThat(report.recipientsWith(Outcome.Delivered.class)).as("the next upstream takes it")
                        .containsExactly(A);
            }
            assertThat(engine.circuitState("first")).isEqualTo(CircuitState.CLOSED);
        }
    }

    @Test
    void anEngineThatThrowsIsATransientFailureAndFailsOver() throws Exception {
        first.rule = r -> {
            throw new IllegalStateException("boom");
        };
        try (RoutingEngine engine = engine(List.of())) {
            DeliveryReport report = get(engine.deliver(envelope("app@customer.test", A), body));
            assertThat(report.byRecipient().get(A)).isEqualTo(ok());
            assertThat(report.upstream()).isEqualTo("first,second");
        }
    }

    @Test
    void rewritingSendsACopyAndLeavesTheSpooledContentAlone() throws Exception {
        RouteConfig route = new RouteConfig("verified", List.of("*"), List.of(), List.of("first"),
                AddressRewrite.parse("bounces@verified.test"), AddressRewrite.parse("@verified.test"), true,
                List.of("Subject"));
        try (RoutingEngine engine = engine(List.of(route))) {
            Envelope original = envelope("app@customer.test", A);
            get(engine.deliver(original, body));
            assertThat(first.seen.get(0).sender()).isEqualTo(MailAddress.of("bounces@verified.test"));
            assertThat(first.seen.get(0).id()).isEqualTo(original.id());
            assertThat(first.contents.get(0)).isEqualTo("From: App <app@verified.test>\r\n"
                    + "Reply-To: App <app@customer.test>\r\n\r\nhello\r\n");
            assertThat(first.bodies.get(0)).isNotSameAs(body); // the copy, removed from work/ (below)
            assertThat(Files.readString(file)).isEqualTo(CONTENT);
            try (Stream<Path> left = Files.list(work)) {
                assertThat(left).isEmpty();
            }
        }
    }

    @Test
    void theNullSenderIsNeverRewritten() throws Exception {
        RouteConfig route = new RouteConfig("verified", List.of("*"), List.of(), List.of("first"),
                AddressRewrite.parse("bounces@verified.test"), null, false, List.of());
        try (RoutingEngine engine = engine(List.of(route))) {
            get(engine.deliver(envelope("", A), body));
            assertThat(first.seen.get(0).sender().isNullSender()).isTrue();
            assertThat(first.bodies.get(0)).isSameAs(body);
        }
    }

    @Test
    void anUnreadableBodyWithRewritingIsATransientFailure() throws Exception {
        RouteConfig route = new RouteConfig("strip", List.of("*"), List.of(), List.of("first"), null, null, false,
                List.of("X-Mailer"));
        try (RoutingEngine engine = engine(List.of(route))) {
            DeliveryReport report = get(engine.deliver(envelope("app@customer.test", A),
                    Body.wholeFile(dir.resolve("missing"))));
            assertThat(report.byRecipient().get(A)).isInstanceOf(Outcome.TransientFailure.class);
            assertThat(report.byRecipient().get(A).detail()).contains("cannot prepare the outbound copy");
            assertThat(first.seen).isEmpty();
        }
    }

    @Test
    void aFromThatCannotBeRewrittenFailsPermanentlyAndIsNeverSentAsItWas() throws Exception {
        RouteConfig route = new RouteConfig("verified", List.of("*"), List.of(), List.of("first"), null,
                AddressRewrite.parse("@verified.test"), false, List.of());
        Path huge = Files.writeString(dir.resolve("huge"), "X-Big: " + "a".repeat(HeaderRewriter.MAX_FIELD + 10)
                + "\r\nFrom: ceo@customer.test\r\n\r\nhello\r\n");
        try (RoutingEngine engine = engine(List.of(route))) {
            DeliveryReport report = get(engine.deliver(envelope("app@customer.test", A), Body.wholeFile(huge)));
            assertThat(report.byRecipient().get(A)).isInstanceOf(Outcome.PermanentFailure.class);
            assertThat(report.byRecipient().get(A).detail()).startsWith("554 5.6.0 ");
            assertThat(first.seen).isEmpty();
        }
    }

    @Test
    void closingClosesEveryUpstreamEngine() {
        engine(List.of()).close();
        assertThat(first.closed).isTrue();
        assertThat(second.closed).isTrue();
    }

    @Test
    void createBuildsOneEnginePerUpstreamThroughTheFactory() {
        List<String> made = new ArrayList<>();
        var upstreams = List.of(
                new dev.relay.config.UpstreamConfig("u1", dev.relay.config.UpstreamUrl.parse("smtp://a.test:587"),
                        null, null, null, null),
                new dev.relay.config.UpstreamConfig("u2", dev.relay.config.UpstreamUrl.parse("smtp://b.test:587"),
                        null, null, null, null));
        try (RoutingEngine engine = RoutingEngine.create(upstreams, List.of(), u -> {
            made.add(u.name());
            return new Scripted(u.name(), r -> ok());
        }, work, clock, CircuitListener.NONE)) {
            assertThat(made).containsExactly("u1", "u2");
            assertThat(engine.circuitState("u2")).isEqualTo(CircuitState.CLOSED);
        }
    }

    @Test
    void replacedRoutesDecideTheNextDeliveryAndKeepTheUpstreams() throws Exception {
        try (RoutingEngine engine = engine(List.of())) {
            get(engine.deliver(envelope("app@customer.test", A), body));
            assertThat(first.seen).hasSize(1);

            engine.replaceRoutes(List.of(new RouteConfig("second-only", List.of("*"), List.of(), List.of("second"))));
            get(engine.deliver(envelope("app@customer.test", A), body));

            assertThat(first.seen).as("the old route's upstream is not used any more").hasSize(1);
            assertThat(second.seen).hasSize(1);
            assertThat(engine.upstreams()).containsExactly("first", "second");
            assertThat(first.closed).as("upstreams and their connections stay").isFalse();
        }
    }

    @Test
    void routesNamingAnUnknownUpstreamAreRefusedAndTheOldOnesStay() throws Exception {
        try (RoutingEngine engine = engine(List.of(
                new RouteConfig("second-only", List.of("*"), List.of(), List.of("second"))))) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> engine.replaceRoutes(List.of(
                            new RouteConfig("new", List.of("*"), List.of(), List.of("third")))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("third");
            get(engine.deliver(envelope("app@customer.test", A), body));
            assertThat(second.seen).hasSize(1);
            assertThat(first.seen).isEmpty();
        }
    }
}
