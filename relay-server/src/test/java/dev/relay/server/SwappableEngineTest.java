package dev.relay.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.ConfigLoader;
import dev.relay.config.UpstreamConfig;
import dev.relay.core.delivery.DeliveryEngine;
import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.routing.RoutingEngine;
import dev.relay.core.spool.Body;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SwappableEngineTest {
    private static final MailAddress TO = MailAddress.of("rcpt@example.org");

    @TempDir
    Path dir;
    Path body;
    List<UpstreamConfig> upstreams;

    /** One upstream whose deliveries end when the test says. */
    static final class Held implements DeliveryEngine {
        final CompletableFuture<DeliveryReport> reply = new CompletableFuture<>();
        final AtomicInteger delivered = new AtomicInteger();
        volatile boolean closed;

        @Override
        public CompletableFuture<DeliveryReport> deliver(Envelope envelope, Body body) {
            delivered.incrementAndGet();
            return reply;
        }

        @Override
        public void close() {
            closed = true;
        }

        void answer() {
            reply.complete(new DeliveryReport("only", Map.of(TO, new Outcome.Delivered("250 2.0.0 ok"))));
        }
    }

    @BeforeEach
    void setUp() throws Exception {
        body = Files.writeString(dir.resolve("body"), "Subject: hi\r\n\r\nhello\r\n");
        Path file = Files.writeString(dir.resolve("relay.yaml"), """
                listeners:
                  - { name: local, bind: "127.0.0.1:2700", tls: none }
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s" }
                upstreams:
                  - { name: only, url: "smtp://127.0.0.1:2600", tls: none }
                """.formatted(dir.resolve("spool")));
        upstreams = ConfigLoader.load(file, Map.of()).config().upstreams();
    }

    private RoutingEngine routing(Held upstream) {
        return RoutingEngine.create(upstreams, List.of(), u -> upstream, dir.resolve("work"), InstantSource.system(),
                (name, state) -> { });
    }

    private static Envelope envelope() {
        return Envelope.received(QueueId.next(Instant.EPOCH), MailAddress.of("app@example.com"), List.of(TO),
                Instant.EPOCH, "app");
    }

    @Test
    void aDeliveryInProgressFinishesOnTheReplacedEngineWhichIsClosedAfterIt() throws Exception {
        Held before = new Held();
        Held after = new Held();
        after.answer();
        SwappableEngine engine = new SwappableEngine(routing(before));
        CompletableFuture<DeliveryReport> inProgress = engine.deliver(envelope(), Body.wholeFile(body));

        engine.replace(routing(after));
        DeliveryReport next = engine.deliver(envelope(), Body.wholeFile(body)).get(5, TimeUnit.SECONDS);

        assertThat(next.byRecipient()).containsKey(TO);
        assertThat(after.delivered).hasValue(1);
        assertThat(before.delivered).as("only the delivery that started on it").hasValue(1);
        assertThat(before.closed).as("not while a delivery runs on it").isFalse();

        before.answer();
        assertThat(inProgress.get(5, TimeUnit.SECONDS).byRecipient().get(TO)).isInstanceOf(Outcome.Delivered.class);
        await().atMost(Duration.ofSeconds(5)).until(() -> before.closed);
        assertThat(after.closed).isFalse();
        engine.close();
        assertThat(after.closed).isTrue();
    }

    @Test
    void anIdleReplacedEngineIsClosedAtOnce() {
        Held before = new Held();
        SwappableEngine engine = new SwappableEngine(routing(before));
        engine.replace(routing(new Held()));
        await().atMost(Duration.ofSeconds(5)).until(() -> before.closed);
    }

    @Test
    void aReplacementTellsTheQueueThatMailWaitingOnACircuitMayGoNow() {
        Held old = new Held();
        Held next = new Held();
        SwappableEngine engine = new SwappableEngine(routing(old));
        List<String> told = new java.util.concurrent.CopyOnWriteArrayList<>();
        engine.watchCircuits(told::add);
        engine.replace(routing(next)); // its circuits start closed
        assertThat(told).contains("only");
        assertThat(engine.availableAt("only")).isEqualTo(Instant.MIN);
        engine.close();
    }
}
