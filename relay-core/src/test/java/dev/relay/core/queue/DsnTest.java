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

        BodyPart status = mp.getBodyPart(1);
        assertThat(status.getContentType()).startsWith("message/delivery-status");
        String report;
        try (InputStream in = status.getInputStream()) {
            report = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String[] blocks = report.split("\r\n\r\n");
        InternetHeaders perMessage = new InternetHeaders(new ByteArrayInputStream(blocks[0].getBytes()));
        assertThat(perMessage.getHeader("Reporting-MTA", null)).isEqualTo("dns; relay.example.com");
        assertThat(perMessage.getHeader("Arrival-Date", null)).isEqualTo("Sun, 1 Nov 2026 08:00:00 GMT");
        InternetHeaders first = new InternetHeaders(new ByteArrayInputStream(blocks[1].getBytes()));
        assertThat(first.getHeader("Final-Recipient", null)).isEqualTo("rfc822; gone@y.org");
        assertThat(first.getHeader("Action", null)).isEqualTo("failed");
        assertThat(first.getHeader("Status", null)).isEqualTo("5.1.1");
        assertThat(first.getHeader("Diagnostic-Code", null)).isEqualTo("smtp; 550 5.1.1 user unknown");
        InternetHeaders second = new InternetHeaders(new ByteArrayInputStream(blocks[2].getBytes()));
        assertThat(second.getHeader("Final-Recipient", null)).isEqualTo("rfc822; slow@z.org");
        assertThat(second.getHeader("Status", null)).isEqualTo("5.4.7");
        assertThat(second.getHeader("Diagnostic-Code")).isNull(); // "connection refused" was no SMTP reply

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
