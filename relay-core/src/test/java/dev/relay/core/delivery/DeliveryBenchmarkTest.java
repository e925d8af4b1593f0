package dev.relay.core.delivery;

import dev.relay.core.spool.Body;
import dev.relay.testkit.TestUpstream;
import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.core.delivery.Outcome.Delivered;
import dev.relay.core.model.MailAddress;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Delivery throughput to a fast local sink, with and without connection reuse, and the connections opened per
 * 1,000 messages. Not part of the normal build (tag {@code benchmark}); run it with
 * {@code mvn -B -ntp -o verify -pl relay-config,relay-core -Pbench}. Figures go to docs/performance.md.
 */
@Tag("benchmark")
class DeliveryBenchmarkTest {
    private static final int MESSAGES = 1_000;
    private static final int IN_FLIGHT = 16; // as many as the queue manager hands out at once

    @TempDir
    Path dir;

    @Test
    void throughputWithConnectionReuse() throws Exception {
        // production logs at INFO (one line per recipient); the tests' DEBUG protocol trace would dominate
        ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("dev.relay.core.delivery"))
                .setLevel(ch.qos.logback.classic.Level.INFO);
        Body body = Body.wholeFile(body());
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            run("warm-up", group, body, UpstreamTarget.Pool.DEFAULT, true, 300);
            for (boolean pipelining : new boolean[] {true, false}) {
                run("reuse (10 connections, 100 messages each)", group, body, UpstreamTarget.Pool.DEFAULT,
                        pipelining, MESSAGES);
            }
            run("no reuse (1 message per connection)", group, body, new UpstreamTarget.Pool(10, 1,
                    Duration.ofSeconds(30)), true, MESSAGES);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    private void run(String label, EventLoopGroup group, Body body, UpstreamTarget.Pool pool, boolean pipelining,
                     int messages) throws Exception {
        try (TestUpstream sink = TestUpstream.plain().pipelining(pipelining);
             NettyDeliveryEngine engine = new NettyDeliveryEngine(ConnectionPoolTest.target(sink.port(), pool,
                     UpstreamTarget.Rate.UNLIMITED), group, "relay.test")) {
            Semaphore slots = new Semaphore(IN_FLIGHT);
            List<CompletableFuture<DeliveryReport>> all = new ArrayList<>(messages);
            long start = System.nanoTime();
            for (int i = 0; i < messages; i++) {
                slots.acquire();
                CompletableFuture<DeliveryReport> f = engine.deliver(ConnectionPoolTest.envelope(
                        MailAddress.of("rcpt" + (i % 50) + "@example.net")), body);
                f.whenComplete((r, e) -> slots.release());
                all.add(f);
            }
            for (CompletableFuture<DeliveryReport> f : all) {
                assertThat(f.get(60, TimeUnit.SECONDS).byRecipient().values())
                        .allSatisfy(o -> assertThat(o).isInstanceOf(Delivered.class));
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            UpstreamStats stats = engine.stats();
            System.out.printf(Locale.ROOT, "DELIVERY %-45s pipelining=%-5s %5d messages in %6.2f s = %7.0f msg/s,"
                            + " connections opened %4d (%.0f per 1,000 messages), reused %d%n", label, pipelining,
                    messages, seconds, messages / seconds, stats.connectionsOpened(),
                    stats.connectionsOpened() * 1000.0 / messages, stats.connectionsReused());
            assertThat(sink.messages()).isEqualTo(messages);
        }
    }

    private Path body() throws Exception {
        StringBuilder sb = new StringBuilder("From: a@example.org\r\nTo: b@example.net\r\nSubject: benchmark\r\n\r\n");
        while (sb.length() < 2048) {
            sb.append("The quick brown fox jumps over the lazy dog. 0123456789\r\n");
        }
        return Files.writeString(dir.resolve("body.eml"), sb);
    }
}
