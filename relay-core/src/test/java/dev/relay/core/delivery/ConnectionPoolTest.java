package dev.relay.core.delivery;

import dev.relay.core.spool.Body;
import dev.relay.testkit.TestUpstream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.TlsMode;
import dev.relay.config.UpstreamAuth;
import dev.relay.core.delivery.Outcome.Delivered;
import dev.relay.core.delivery.Outcome.TransientFailure;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The connection pool against a fast fake smarthost: reuse, limits, idle closing, pacing. */
class ConnectionPoolTest {
    private static final MailAddress SENDER = MailAddress.of("alice@example.org");
    private static final MailAddress BOB = MailAddress.of("bob@example.net");
    private static final MailAddress CAROL = MailAddress.of("carol@example.net");
    private static final UpstreamTarget.Timeouts FAST = new UpstreamTarget.Timeouts(Duration.ofSeconds(2),
            Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(2));
    private static final Backpressure QUICK = new Backpressure(Duration.ofSeconds(1), Duration.ofSeconds(1),
            Duration.ofHours(1));
    private static EventLoopGroup group;

    @TempDir
    Path dir;

    @BeforeAll
    static void setUp() {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    }

    @AfterAll
    static void tearDown() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    @Test
    void fiftyMessagesReuseAtMostMaxConnectionsWithRsetBeforeEachReuse() throws Exception {
        try (TestUpstream sink = TestUpstream.plain();
             NettyDeliveryEngine engine = engine(target(sink.port(), new UpstreamTarget.Pool(3, 100,
                     Duration.ofSeconds(30)), UpstreamTarget.Rate.UNLIMITED))) {
            List<DeliveryReport> reports = deliverAll(engine, 50);

            assertThat(reports).allSatisfy(r -> assertThat(r.byRecipient().get(BOB)).isInstanceOf(Delivered.class));
            assertThat(sink.messages()).isEqualTo(50);
            assertThat(sink.connections()).isBetween(1, 3);
            assertThat(sink.peak()).isLessThanOrEqualTo(3);
            UpstreamStats stats = engine.stats();
            assertThat(stats.connectionsOpened()).isEqualTo(sink.connections());
            assertThat(stats.connectionsReused()).isEqualTo(50 - stats.connectionsOpened());
            // every transaction on a reused connection starts with RSET
            assertThat(sink.rsets()).isEqualTo(50 - sink.connections());
            await().atMost(Duration.ofSeconds(5)).until(() -> engine.stats().idle() == sink.connections());
            assertThat(engine.stats().open()).isEqualTo(sink.connections());
        }
    }

    @Test
    void connectionIsReplacedAfterMaxMessagesPerConnection() throws Exception {
        try (TestUpstream sink = TestUpstream.plain();
             NettyDeliveryEngine engine = engine(target(sink.port(), new UpstreamTarget.Pool(1, 5,
                     Duration.ofSeconds(30)), UpstreamTarget.Rate.UNLIMITED))) {
            List<DeliveryReport> reports = deliverAll(engine, 12);

            assertThat(reports).allSatisfy(r -> assertThat(r.byRecipient().get(BOB)).isInstanceOf(Delivered.class));
            assertThat(sink.connections()).isEqualTo(3);
            assertThat(sink.peak()).isEqualTo(1);
            await().atMost(Duration.ofSeconds(5)).until(() -> sink.quits() == 2);
        }
    }

    @Test
    void idleConnectionIsClosedWithQuitAfterTheIdleTimeout() throws Exception {
        try (TestUpstream sink = TestUpstream.plain();
             NettyDeliveryEngine engine = engine(target(sink.port(), new UpstreamTarget.Pool(2, 100,
                     Duration.ofMillis(200)), UpstreamTarget.Rate.UNLIMITED))) {
            deliverAll(engine, 1);
            assertThat(engine.stats().open()).isEqualTo(1);

            await().atMost(Duration.ofSeconds(5)).until(() -> sink.current() == 0);
            assertThat(sink.quits()).isEqualTo(1);
            await().atMost(Duration.ofSeconds(2)).until(() -> engine.stats().open() == 0);

            deliverAll(engine, 1); // a new connection after the idle one closed
            assertThat(sink.connections()).isEqualTo(2);
        }
    }

    @Test
    void pipelinedFlightReachesTheServerBeforeAnyReply() throws Exception {
        // the sink reads MAIL, both RCPTs and DATA before it answers anything: lockstep would time out
        try (TestUpstream sink = TestUpstream.plain().pipelining(true);
             NettyDeliveryEngine engine = engine(target(sink.port(), UpstreamTarget.Pool.DEFAULT,
                     UpstreamTarget.Rate.UNLIMITED))) {
            DeliveryReport report = engine.deliver(envelope(BOB, CAROL), body()).get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().values()).allSatisfy(o -> assertThat(o).isInstanceOf(Delivered.class));
            assertThat(sink.commands()).containsSubsequence("MAIL FROM:<alice@example.org> SIZE=28",
                    "RCPT TO:<bob@example.net>", "RCPT TO:<carol@example.net>", "DATA");
            for (int i = 0; i < 5; i++) { // one after the other: the same connection each time
                assertThat(engine.deliver(envelope(BOB), body()).get(10, TimeUnit.SECONDS).byRecipient().get(BOB))
                        .isInstanceOf(Delivered.class);
            }
            assertThat(sink.connections()).isEqualTo(1);
        }
    }

    @Test
    void throttlingReplyDefersThatMessageAndHalvesTheConcurrency() throws Exception {
        try (TestUpstream sink = TestUpstream.plain().mailReply(n -> n == 0
                ? "421 4.7.0 Too many messages, slow down" : "250 2.1.0 ok");
             NettyDeliveryEngine engine = engine(target(sink.port(), new UpstreamTarget.Pool(4, 100,
                     Duration.ofSeconds(30)), UpstreamTarget.Rate.UNLIMITED))) {
            DeliveryReport first = engine.deliver(envelope(BOB), body()).get(10, TimeUnit.SECONDS);
            assertThat(first.byRecipient().get(BOB)).isEqualTo(
                    new TransientFailure("421 4.7.0 Too many messages, slow down"));
            assertThat(engine.stats().throttled()).isEqualTo(1);
            assertThat(engine.stats().concurrency()).isEqualTo(2);

            List<DeliveryReport> rest = deliverAll(engine, 20);

            assertThat(rest).allSatisfy(r -> assertThat(r.byRecipient().get(BOB)).isInstanceOf(Delivered.class));
            assertThat(sink.peak()).isLessThanOrEqualTo(2);
            assertThat(engine.stats().rateLimited()).isGreaterThanOrEqualTo(1); // the back-pressure pause
        }
    }

    @Test
    void perSecondRateMakesMessagesWaitWithoutFailingThem() throws Exception {
        try (TestUpstream sink = TestUpstream.plain().pipelining(true);
             NettyDeliveryEngine engine = engine(target(sink.port(), UpstreamTarget.Pool.DEFAULT,
                     new UpstreamTarget.Rate(5, 0)))) {
            long start = System.nanoTime();
            List<DeliveryReport> reports = deliverAll(engine, 10); // 5 at once, then one every 200 ms

            assertThat(reports).allSatisfy(r -> assertThat(r.byRecipient().get(BOB)).isInstanceOf(Delivered.class));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThan(Duration.ofMillis(900));
            assertThat(engine.stats().rateLimited()).isGreaterThanOrEqualTo(1);
        }
    }

    @Test
    void usedUpDailyQuotaDefersInsteadOfWaiting() throws Exception {
        try (TestUpstream sink = TestUpstream.plain().pipelining(true);
             NettyDeliveryEngine engine = engine(target(sink.port(), UpstreamTarget.Pool.DEFAULT,
                     new UpstreamTarget.Rate(0, 2)))) {
            List<DeliveryReport> reports = deliverAll(engine, 3);

            assertThat(reports).filteredOn(r -> r.byRecipient().get(BOB) instanceof Delivered).hasSize(2);
            assertThat(reports).filteredOn(r -> r.byRecipient().get(BOB) instanceof TransientFailure)
                    .singleElement().satisfies(r -> assertThat(r.byRecipient().get(BOB).detail())
                            .contains("rate limit of upstream test-upstream reached"));
            assertThat(sink.messages()).isEqualTo(2);
        }
    }

    @Test
    void listenerHearsOpenedAndReusedConnections() throws Exception {
        AtomicLong opened = new AtomicLong();
        AtomicLong reused = new AtomicLong();
        DeliveryListener listener = new DeliveryListener() {
            @Override
            public void connectionOpened(String upstream) {
                opened.incrementAndGet();
            }

            @Override
            public void connectionReused(String upstream) {
                assertThat(upstream).isEqualTo("test-upstream");
                reused.incrementAndGet();
            }
        };
        try (TestUpstream sink = TestUpstream.plain().pipelining(true);
             NettyDeliveryEngine engine = new NettyDeliveryEngine(target(sink.port(), new UpstreamTarget.Pool(1,
                     100, Duration.ofSeconds(30)), UpstreamTarget.Rate.UNLIMITED), group, "relay.test", listener)) {
            deliverAll(engine, 5);

            assertThat(opened).hasValue(1);
            assertThat(reused).hasValue(4);
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private List<DeliveryReport> deliverAll(NettyDeliveryEngine engine, int n) throws Exception {
        Body body = body();
        List<CompletableFuture<DeliveryReport>> futures = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            futures.add(engine.deliver(envelope(BOB), body));
        }
        List<DeliveryReport> reports = new ArrayList<>();
        for (CompletableFuture<DeliveryReport> f : futures) {
            reports.add(f.get(20, TimeUnit.SECONDS));
        }
        return reports;
    }

    private NettyDeliveryEngine engine(UpstreamTarget target) {
        return new NettyDeliveryEngine(target, group, "relay.test", DeliveryListener.NONE, InstantSource.system(),
                QUICK);
    }

    static UpstreamTarget target(int port, UpstreamTarget.Pool pool, UpstreamTarget.Rate rate) {
        return new UpstreamTarget("test-upstream", "127.0.0.1", port, TlsMode.NONE, null, null, null, FAST, pool,
                rate, UpstreamAuth.AUTO, null);
    }

    static Envelope envelope(MailAddress... recipients) {
        return Envelope.received(QueueId.next(Instant.now()), SENDER, List.of(recipients), Instant.now(), "alice");
    }

    private Body body() throws Exception {
        Path file = Files.createTempFile(dir, "body", ".eml");
        Files.writeString(file, "Subject: hi\r\n\r\nhello world\r\n", StandardCharsets.UTF_8);
        return Body.wholeFile(file);
    }
}
