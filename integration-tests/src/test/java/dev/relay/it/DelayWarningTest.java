package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.ConfigLoader;
import dev.relay.config.HostPort;
import dev.relay.config.RelayConfig;
import dev.relay.server.RelayServer;
import dev.relay.server.receive.tls.ServerTls;
import dev.relay.server.sink.CaptureSink;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code queue.delay-warning} over real sockets: the upstream answers 451 for a while, the sender gets one delay
 * warning through the relay's normal bounce path (from the null sender, through the same upstream), and the message
 * is delivered once the upstream recovers. The relay runs on the system clock, so the times are short: a 1 s
 * warning, retries every 200 ms to 500 ms.
 */
class DelayWarningTest {
    @TempDir
    Path dir;

    @Test
    void theSenderIsWarnedOnceWhileTheUpstreamDefersThenTheMessageIsDelivered() throws Exception {
        TestRelay setup = new TestRelay(dir);
        int sinkPort = Loopback.freePort();
        setup.config("smtp://relay@127.0.0.1:" + sinkPort, "sink-secret", setup.cert, Duration.ofMillis(200));
        RelayConfig config = ConfigLoader.load(dir.resolve("relay.yaml"), Map.of("RELAY_QUEUE_DELAY_WARNING", "1s",
                "RELAY_QUEUE_MAX_BACKOFF", "500ms")).config();
        Path outbox = dir.resolve("outbox");
        AtomicBoolean recovered = new AtomicBoolean();
        try (CaptureSink sink = new CaptureSink(new HostPort(Loopback.HOST, sinkPort), outbox, "relay",
                "sink-secret", new ServerTls(setup.material),
                rcpt -> rcpt.startsWith("slow@") && !recovered.get() ? "451 4.2.1 mailbox busy, try later" : null);
             RelayServer relay = RelayServer.start(config)) {
            sink.start();
            Loopback.submit(setup.submissionPort, Loopback.Tls.STARTTLS, TestRelay.USER, TestRelay.PASSWORD,
                    "app@example.com", "slow@example.org", "quarterly report", "the body");

            await().atMost(Duration.ofSeconds(30)).until(() -> BounceTest.emls(outbox).size() == 1);
            String warning = Files.readString(BounceTest.emls(outbox).get(0));
            assertThat(warning).contains("X-Sink-Envelope-From: <>", "X-Sink-Envelope-To: <app@example.com>",
                    "Subject: Delayed Mail (still being retried)", "report-type=delivery-status",
                    "THIS IS A WARNING ONLY", "Final-Recipient: rfc822; slow@example.org", "Action: delayed",
                    "Status: 4.2.1", "Diagnostic-Code: smtp; 451 4.2.1 mailbox busy, try later", "Will-Retry-Until: ",
                    "Subject: quarterly report").doesNotContain("the body");
            double deferred = counter(relay, "relay.messages.deferred");
            await().atMost(Duration.ofSeconds(30)).until(() -> counter(relay, "relay.messages.deferred")
                    >= deferred + 2); // two more failed retries: no second warning
            assertThat(BounceTest.emls(outbox)).hasSize(1);

            recovered.set(true);
            await().atMost(Duration.ofSeconds(30)).until(() -> BounceTest.emls(outbox).size() == 2);
            await().atMost(Duration.ofSeconds(5)).until(() -> relay.queue().queued() == 0);
            assertThat(Files.readString(BounceTest.emls(outbox).get(1))).contains(
                    "X-Sink-Envelope-From: <app@example.com>", "X-Sink-Envelope-To: <slow@example.org>",
                    "Subject: quarterly report");
            assertThat(counter(relay, "relay.delay.warnings")).isEqualTo(1.0);
            assertThat(counter(relay, "relay.messages.bounced")).isZero();
        }
    }

    private static double counter(RelayServer relay, String name) {
        return relay.registry().get(name).counter().count();
    }
}
