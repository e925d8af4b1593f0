package dev.relay.core.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.Body;
import jakarta.mail.BodyPart;
import jakarta.mail.Session;
import jakarta.mail.internet.InternetHeaders;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DsnTest {
    @TempDir
    Path dir;

    private static final Instant RECEIVED = Instant.parse("2026-11-01T08:00:00Z");
    private static final Instant NOW = Instant.parse("2026-11-01T08:05:00Z");

    @ParameterizedTest(name = "{0} (expired={1}) -> {2}")
    @CsvSource(delimiter = '|', value = {
            "550 5.1.1 <x@y.org>: user unknown | false | 5.1.1",
            "554 5.7.1 relay denied            | false | 5.7.1",
            "550 no such user                  | false | 5.0.0",
            "552-5.3.4 message too big         | false | 5.3.4",
            "message refused by the upstream   | false | 5.0.0",
            "expired after 5d: last error: 451 4.3.0 busy | true | 5.4.7",
    })
    void statusComesFromTheReplyOrIsExpiry(String detail, boolean expired, String status) {
        assertThat(new Dsn.Failure(MailAddress.of("x@y.org"), detail, expired).status()).isEqualTo(status);
    }

    @Test
    void aDelayedRecipientsStatusIsOfClassFourFromTheLastReplyOrDeliveryTimePassed() {
        // the last failure, and the status of the delay: the reply's own code (as class 4), 4.0.0 for a reply
        // without one, 4.4.7 for no reply at all
        String[][] cases = {{"451 4.3.2 mailbox busy", "4.3.2"}, {"450-4.2.1 slow down", "4.2.1"},
                {"421 too many connections", "4.0.0"}, {"connection refused", "4.4.7"}, {"", "4.4.7"}};
        for (String[] c : cases) {
            Dsn.Delay d = new Dsn.Delay(MailAddress.of("x@y.org"), c[0]);
            assertThat(d.status()).as(c[0]).isEqualTo(c[1]);
            assertThat(d.smtpReply()).as(c[0]).isEqualTo(c[0].matches("^4\\d\\d.*") ? c[0] : null);
        }
    }

    @Test
    void dsnIsAMultipartReportWithStatusPerRecipientAndTheOriginalHeadersOnly() throws Exception {
        Path body = Files.writeString(dir.resolve("body"), "Received: from app\r\nFrom: app@example.com\r\n"
                + "Subject: invoice\r\n  folded\r\nMessage-ID: <m1@example.com>\r\n\r\nthe secret body\r\n");
        Envelope original = new Envelope(QueueId.next(RECEIVED), MailAddress.of("app@example.com"),
                List.of(MailAddress.of("gone@y.org"), MailAddress.of("slow@z.org")), RECEIVED, "app", 3, NOW, "");
        QueueId dsnId = QueueId.next(NOW);
        byte[] dsn = Dsn.build("relay.example.com", dsnId, original, List.of(
                new Dsn.Failure(MailAddress.of("gone@y.org"), "550 5.1.1 user unknown", false),
                new Dsn.Failure(MailAddress.of("slow@z.org"), Dsn.expiredReason(java.time.Duration.ofDays(5),
                        "connection refused"), true)), Dsn.readHeaders(Body.wholeFile(body)), NOW);

        MimeMessage m = new MimeMessage(Session.getInstance(new Properties()), new ByteArrayInputStream(dsn));
        assertThat(m.getHeader("From", null)).isEqualTo("Mail Delivery System <MAILER-DAEMON@relay.example.com>");
        assertThat(m.getHeader("To", null)).isEqualTo("<app@example.com>");
        assertThat(m.getHeader("Auto-Submitted", null)).isEqualTo("auto-replied");
        assertThat(m.getContentType()).startsWith("multipart/report").contains("report-type=delivery-status");
        MimeMultipart mp = (MimeMultipart) m.getContent();
        assertThat(mp.getCount()).isEqualTo(3);

        BodyPart human = mp.getBodyPart(0);
        assertThat(human.getContentType()).startsWith("text/plain");
        assertThat((String) human.getContent()).contains("<gone@y.org>: 550 5.1.1 user unknown",
                "<slow@z.org>: expired after 5d: last error: connection refused", original.id().value());

        assertThat(mp.getBodyPart(1).getContentType()).startsWith("message/delivery-status");
        List<InternetHeaders> blocks = statusBlocks(mp);
        InternetHeaders perMessage = blocks.get(0);
        assertThat(perMessage.getHeader("Reporting-MTA", null)).isEqualTo("dns; relay.example.com");
        assertThat(perMessage.getHeader("Arrival-Date", null)).isEqualTo("Sun, 1 Nov 2026 08:00:00 GMT");
        assertRecipient(blocks.get(1), "gone@y.org", "failed", "5.1.1", "smtp; 550 5.1.1 user unknown");
        // "connection refused" was no SMTP reply: no Diagnostic-Code
        assertRecipient(blocks.get(2), "slow@z.org", "failed", "5.4.7", null);

        BodyPart headers = mp.getBodyPart(2);
        assertThat(headers.getContentType()).startsWith("text/rfc822-headers");
        String original822;
        try (InputStream in = headers.getInputStream()) {
            original822 = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertThat(original822).contains("Subject: invoice\r\n  folded\r\n", "Message-ID: <m1@example.com>")
                .doesNotContain("secret body");
    }

    @Test
    void aDelayWarningIsTheSameReportWithActionDelayedAndWillRetryUntil() throws Exception {
        Path body = Files.writeString(dir.resolve("body"), "Subject: invoice\r\n\r\nthe secret body\r\n");
        Envelope original = Envelope.received(QueueId.next(RECEIVED), MailAddress.of("app@example.com"),
                List.of(MailAddress.of("slow@z.org"), MailAddress.of("down@w.org")), RECEIVED, "app");
        Instant until = RECEIVED.plus(java.time.Duration.ofDays(5));
        byte[] dsn = Dsn.delayed("relay.example.com", QueueId.next(NOW), original, List.of(
                new Dsn.Delay(MailAddress.of("slow@z.org"), "451 4.7.1 greylisted"),
                new Dsn.Delay(MailAddress.of("down@w.org"), "connection refused")), until,
                Dsn.readHeaders(Body.wholeFile(body)), NOW);

        MimeMessage m = new MimeMessage(Session.getInstance(new Properties()), new ByteArrayInputStream(dsn));
        assertThat(m.getHeader("From", null)).isEqualTo("Mail Delivery System <MAILER-DAEMON@relay.example.com>");
        assertThat(m.getSubject()).isEqualTo("Delayed Mail (still being retried)");
        MimeMultipart mp = (MimeMultipart) m.getContent();
        assertThat(mp.getCount()).isEqualTo(3);
        assertThat((String) mp.getBodyPart(0).getContent()).contains("WARNING ONLY", "nothing you need to do",
                "Fri, 6 Nov 2026 08:00:00 GMT", "after 5m", "<down@w.org>: connection refused");
        List<InternetHeaders> blocks = statusBlocks(mp);
        assertRecipient(blocks.get(1), "slow@z.org", "delayed", "4.7.1", "smtp; 451 4.7.1 greylisted");
        assertThat(blocks.get(1).getHeader("Will-Retry-Until", null)).isEqualTo("Fri, 6 Nov 2026 08:00:00 GMT");
        assertRecipient(blocks.get(2), "down@w.org", "delayed", "4.4.7", null);
        assertThat(blocks.get(2).getHeader("Will-Retry-Until", null)).isEqualTo("Fri, 6 Nov 2026 08:00:00 GMT");
        assertThat(mp.getBodyPart(2).getContentType()).startsWith("text/rfc822-headers");
    }

    /** One recipient's block of a report; {@code diagnostic} null: none. */
    private static void assertRecipient(InternetHeaders block, String recipient, String action, String status,
                                        String diagnostic) {
        assertThat(block.getHeader("Final-Recipient", null)).isEqualTo("rfc822; " + recipient);
        assertThat(block.getHeader("Action", null)).isEqualTo(action);
        assertThat(block.getHeader("Status", null)).isEqualTo(status);
        assertThat(block.getHeader("Diagnostic-Code", null)).isEqualTo(diagnostic);
    }

    /** The blocks of a report's message/delivery-status part: per message, then one per recipient. */
    private static List<InternetHeaders> statusBlocks(MimeMultipart report) throws Exception {
        String text;
        try (InputStream in = report.getBodyPart(1).getInputStream()) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        List<InternetHeaders> blocks = new java.util.ArrayList<>();
        for (String block : text.split("\r\n\r\n")) {
            blocks.add(new InternetHeaders(new ByteArrayInputStream(block.getBytes(StandardCharsets.UTF_8))));
        }
        return blocks;
    }

    @Test
    void headersAreReadUpToTheBlankLineWithLfOnlyLinesNormalised() throws Exception {
        Path body = Files.writeString(dir.resolve("lf"), "Subject: lf\nFrom: a@b.c\n\nbody\nSubject: no\n");
        assertThat(new String(Dsn.readHeaders(Body.wholeFile(body)), StandardCharsets.US_ASCII))
                .isEqualTo("Subject: lf\r\nFrom: a@b.c\r\n");
    }

    @Test
    void hugeHeaderSectionsAreCut() throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 5000; i++) {
            sb.append("X-Filler-").append(i).append(": ").append("y".repeat(40)).append("\r\n");
        }
        Path body = Files.writeString(dir.resolve("big"), sb + "\r\nbody\r\n");
        byte[] headers = Dsn.readHeaders(Body.wholeFile(body));
        assertThat(headers.length).isLessThanOrEqualTo(Dsn.MAX_ORIGINAL_HEADERS);
        assertThat(new String(headers, StandardCharsets.US_ASCII)).startsWith("X-Filler-0: ").endsWith("\r\n");
    }
}
