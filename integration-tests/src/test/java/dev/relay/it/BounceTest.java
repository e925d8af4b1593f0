package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.HostPort;
import dev.relay.config.RelayConfig;
import dev.relay.server.RelayServer;
import dev.relay.server.receive.tls.ServerTls;
import dev.relay.server.sink.CaptureSink;
import jakarta.mail.BodyPart;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A recipient refused for good by the upstream: the others are delivered, the sender gets a delivery status
 * notification through the same upstream, from the null sender.
 */
class BounceTest {
    @TempDir
    Path dir;

    /** The messages the capture sink wrote to {@code outbox}, in order. */
    static List<Path> emls(Path outbox) throws Exception {
        if (!Files.isDirectory(outbox)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(outbox)) {
            return s.filter(p -> p.toString().endsWith(".eml")).sorted().toList();
        }
    }

    @Test
    void permanentlyRefusedRecipientBouncesToTheSenderThroughTheUpstream() throws Exception {
        TestRelay setup = new TestRelay(dir);
        int sinkPort = Loopback.freePort();
        RelayConfig config = setup.config("smtp://relay@127.0.0.1:" + sinkPort, "sink-secret", setup.cert,
                Duration.ofMinutes(1));
        Path outbox = dir.resolve("outbox");
        try (CaptureSink sink = new CaptureSink(new HostPort(Loopback.HOST, sinkPort), outbox, "relay",
                "sink-secret", new ServerTls(setup.material),
                rcpt -> rcpt.startsWith("gone@") ? "550 5.1.1 no such user here" : null);
             RelayServer relay = RelayServer.start(config)) {
            sink.start();
            Loopback.submit(setup.submissionPort, Loopback.Tls.STARTTLS, TestRelay.USER, TestRelay.PASSWORD,
                    "app@example.com", List.of("ok@example.org", "gone@example.org"), "partial", "hello");

            await().atMost(Duration.ofSeconds(20)).until(() -> emls(outbox).size() == 2);
            await().atMost(Duration.ofSeconds(5)).until(() -> relay.queue().queued() == 0);
            String original = null;
            String dsn = null;
            for (Path p : emls(outbox)) {
                String s = Files.readString(p);
                if (s.contains("X-Sink-Envelope-From: <>")) {
                    dsn = s;
                } else {
                    original = s;
                }
            }
            assertThat(original).contains("X-Sink-Envelope-To: <ok@example.org>", "Subject: partial");
            assertThat(dsn).as("a DSN from the null sender").isNotNull()
                    .contains("X-Sink-Envelope-To: <app@example.com>");

            MimeMessage m = new MimeMessage(Session.getInstance(new Properties()),
                    new java.io.ByteArrayInputStream(dsn.getBytes(StandardCharsets.UTF_8)));
            assertThat(m.getHeader("From", null)).contains("MAILER-DAEMON@");
            assertThat(m.getContentType()).contains("multipart/report", "report-type=delivery-status");
            MimeMultipart mp = (MimeMultipart) m.getContent();
            BodyPart status = mp.getBodyPart(1);
            assertThat(status.getContentType()).startsWith("message/delivery-status");
            try (InputStream in = status.getInputStream()) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).contains(
                        "Final-Recipient: rfc822; gone@example.org", "Action: failed", "Status: 5.1.1",
                        "Diagnostic-Code: smtp; 550 5.1.1 no such user here")
                        .doesNotContain("ok@example.org");
            }
            BodyPart headers = mp.getBodyPart(2);
            assertThat(headers.getContentType()).startsWith("text/rfc822-headers");
            try (InputStream in = headers.getInputStream()) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).contains("Subject: partial")
                        .doesNotContain("hello");
            }
            assertThat(relay.registry().get("relay.messages.bounced").counter().count()).isEqualTo(1.0);
        }
    }

    @Test
    void recipientStillDeferredAtTheEndOfItsLifetimeExpiresAndBouncesWithStatus547() throws Exception {
        TestRelay setup = new TestRelay(dir);
        int sinkPort = Loopback.freePort();
        setup.config("smtp://relay@127.0.0.1:" + sinkPort, "sink-secret", setup.cert, Duration.ofMillis(200));
        RelayConfig config = dev.relay.config.ConfigLoader.load(dir.resolve("relay.yaml"),
                java.util.Map.of("RELAY_QUEUE_MAX_LIFETIME", "2s")).config();
        Path outbox = dir.resolve("outbox");
        try (CaptureSink sink = new CaptureSink(new HostPort(Loopback.HOST, sinkPort), outbox, "relay",
                "sink-secret", new ServerTls(setup.material),
                rcpt -> rcpt.startsWith("slow@") ? "451 4.2.1 mailbox busy, try later" : null);
             RelayServer relay = RelayServer.start(config)) {
            sink.start();
            Loopback.submit(setup.submissionPort, Loopback.Tls.STARTTLS, TestRelay.USER, TestRelay.PASSWORD,
                    "app@example.com", "slow@example.org", "never arrives", "hello");

            await().atMost(Duration.ofSeconds(20)).until(() -> emls(outbox).size() == 1);
            String dsn = Files.readString(emls(outbox).get(0));
            assertThat(dsn).contains("X-Sink-Envelope-From: <>", "X-Sink-Envelope-To: <app@example.com>",
                    "Final-Recipient: rfc822; slow@example.org", "Status: 5.4.7",
                    "Diagnostic-Code: smtp; 451 4.2.1 mailbox busy, try later", "expired after 2s",
                    "Subject: never arrives");
            await().atMost(Duration.ofSeconds(5)).until(() -> relay.queue().queued() == 0);
            assertThat(relay.registry().get("relay.messages.expired").counter().count()).isEqualTo(1.0);
            assertThat(relay.registry().get("relay.delivery.attempts").counter().count()).isGreaterThan(2.0);
        }
    }
}
