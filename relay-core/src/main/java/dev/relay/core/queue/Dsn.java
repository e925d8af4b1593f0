package dev.relay.core.queue;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.Body;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A delivery status notification (RFC 3464): a {@code multipart/report; report-type=delivery-status} message with
 * a human-readable part, a {@code message/delivery-status} part (one block per failed recipient, or per delayed one
 * for a delay warning) and the original message's headers as {@code text/rfc822-headers}. Written with plain Java: the relay only ever writes this one
 * kind of message.
 */
final class Dsn {
    /** Headers of the original beyond this are left out: a DSN is a notice, not a copy. */
    static final int MAX_ORIGINAL_HEADERS = 64 * 1024;
    static final String EXPIRED_STATUS = "5.4.7";
    /** The status of a delayed recipient whose last failure was no SMTP reply (RFC 3463: delivery time passed). */
    static final String DELAYED_STATUS = "4.4.7";
    private static final Pattern REPLY = Pattern.compile("^([245])\\d\\d(?:[ -]([245]\\.\\d{1,3}\\.\\d{1,3}))?\\b.*",
            Pattern.DOTALL);
    private static final DateTimeFormatter DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);

    private Dsn() {}

    /**
     * One recipient that failed for good.
     *
     * @param detail  the upstream's reply ({@code 550 5.1.1 unknown}) or the failure's description
     * @param expired true when it failed because the message reached its maximum lifetime
     */
    record Failure(MailAddress recipient, String detail, boolean expired) {
        /** The RFC 3463 status: the reply's enhanced code when it is a permanent one, 5.4.7 for expiry. */
        String status() {
            if (expired) {
                return EXPIRED_STATUS;
            }
            Matcher m = REPLY.matcher(detail);
            if (m.matches() && m.group(2) != null && m.group(2).startsWith("5")) {
                return m.group(2);
            }
            return "5.0.0";
        }

        /** The SMTP reply this failure carries (for Diagnostic-Code), or null when it was no reply. */
        String smtpReply() {
            String d = expired && detail.contains("last error: ") ? detail.substring(detail.indexOf("last error: ")
                    + "last error: ".length()) : detail;
            return REPLY.matcher(d).matches() ? d : null;
        }
    }

    /** The reason recorded for recipients of an expired message. */
    static String expiredReason(Duration age, String lastError) {
        return "expired after " + human(age) + ": last error: " + lastError;
    }

    static String human(Duration d) {
        if (d.toDays() >= 1) {
            return d.toDays() + "d" + (d.toHoursPart() > 0 ? d.toHoursPart() + "h" : "");
        }
        if (d.toHours() >= 1) {
            return d.toHours() + "h" + (d.toMinutesPart() > 0 ? d.toMinutesPart() + "m" : "");
        }
        if (d.toMinutes() >= 1) {
            return d.toMinutes() + "m" + (d.toSecondsPart() > 0 ? d.toSecondsPart() + "s" : "");
        }
        return d.toSeconds() > 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
    }

    /**
     * One recipient still being retried when its sender is warned of the delay.
     *
     * @param detail the last transient reply ({@code 451 4.3.0 busy}) or failure ({@code connection refused})
     */
    record Delay(MailAddress recipient, String detail) {
        /**
         * The RFC 3463 status, of class 4 as {@code Action: delayed} wants: the last reply's enhanced code, 4.0.0 for
         * a reply without one, 4.4.7 (delivery time passed, as sendmail's delay warnings say) when there was no reply.
         */
        String status() {
            Matcher m = REPLY.matcher(detail);
            if (!m.matches()) {
                return DELAYED_STATUS;
            }
            return m.group(2) == null ? "4.0.0" : "4" + m.group(2).substring(1);
        }

        /** The SMTP reply this delay carries (for Diagnostic-Code), or null when it was no reply. */
        String smtpReply() {
            return REPLY.matcher(detail).matches() ? detail : null;
        }
    }

    /** The DSN for {@code original}'s {@code failures}, from {@code MAILER-DAEMON@reportingMta}. */
    static byte[] build(String reportingMta, QueueId dsnId, Envelope original, List<Failure> failures,
                        byte[] originalHeaders, Instant now) {
        StringBuilder human = new StringBuilder(512)
                .append("I'm sorry to have to inform you that your message could not be delivered to one or more\r\n")
                .append("recipients. The message had queue id ").append(original.id().value())
                .append(" and was received ").append(DATE.format(original.receivedAt())).append(".\r\n\r\n");
        StringBuilder blocks = new StringBuilder(256);
        for (Failure f : failures) {
            human.append("<").append(f.recipient().value()).append(">: ").append(oneLine(f.detail())).append("\r\n");
            recipientBlock(blocks, f.recipient(), "failed", f.status(), f.smtpReply());
        }
        return report(reportingMta, dsnId, original, "Undelivered Mail Returned to Sender", human, blocks,
                "Undelivered Message Headers", originalHeaders, now);
    }

    /**
     * The delay warning for {@code original}'s {@code delays}: the same report with {@code Action: delayed} and
     * {@code Will-Retry-Until: until} per recipient, and a text that says there is nothing to do.
     */
    static byte[] delayed(String reportingMta, QueueId dsnId, Envelope original, List<Delay> delays, Instant until,
                          byte[] originalHeaders, Instant now) {
        StringBuilder human = new StringBuilder(1024)
                .append("####################################################################\r\n")
                .append("# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n")
                .append("####################################################################\r\n\r\n")
                .append("Your message has not been delivered yet to the recipients below, after ")
                .append(human(Duration.between(original.receivedAt(), now))).append(".\r\n")
                .append("There is nothing you need to do: the mail system keeps trying until ")
                .append(DATE.format(until)).append(",\r\n")
                .append("and tells you again only if the message cannot be delivered by then.\r\n")
                .append("The message had queue id ").append(original.id().value()).append(" and was received ")
                .append(DATE.format(original.receivedAt())).append(".\r\n\r\n");
        StringBuilder blocks = new StringBuilder(256);
        for (Delay d : delays) {
            human.append("<").append(d.recipient().value()).append(">: ")
                    .append(d.detail().isEmpty() ? "not delivered yet" : oneLine(d.detail())).append("\r\n");
            recipientBlock(blocks, d.recipient(), "delayed", d.status(), d.smtpReply());
            header(blocks, "Will-Retry-Until", DATE.format(until));
        }
        return report(reportingMta, dsnId, original, "Delayed Mail (still being retried)", human, blocks,
                "Headers of the Delayed Message", originalHeaders, now);
    }

    private static void recipientBlock(StringBuilder sb, MailAddress recipient, String action, String status,
                                       String reply) {
        sb.append("\r\n");
        header(sb, "Final-Recipient", addressType(recipient) + "; " + recipient.value());
        header(sb, "Action", action);
        header(sb, "Status", status);
        if (reply != null) {
            header(sb, "Diagnostic-Code", "smtp; " + oneLine(reply));
        }
    }

    /** The multipart/report around a human text and the per-recipient blocks (each starting with a blank line). */
    private static byte[] report(String reportingMta, QueueId dsnId, Envelope original, String subject,
                                 CharSequence human, CharSequence recipientBlocks, String headersDescription,
                                 byte[] originalHeaders, Instant now) {
        String boundary = "=_relay-dsn-" + dsnId.value();
        StringBuilder sb = new StringBuilder(2048);
        header(sb, "From", "Mail Delivery System <MAILER-DAEMON@" + reportingMta + ">");
        header(sb, "To", "<" + original.sender().value() + ">");
        header(sb, "Subject", subject);
        header(sb, "Date", DATE.format(now));
        header(sb, "Message-ID", "<" + dsnId.value() + ".dsn@" + reportingMta + ">");
        header(sb, "Auto-Submitted", "auto-replied"); // RFC 3834: automatic responders must not answer it
        header(sb, "MIME-Version", "1.0");
        header(sb, "Content-Type", "multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + boundary
                + "\"");
        sb.append("\r\nThis is a MIME-encapsulated message.\r\n\r\n");

        sb.append("--").append(boundary).append("\r\n");
        header(sb, "Content-Type", "text/plain; charset=utf-8");
        header(sb, "Content-Description", "Notification");
        sb.append("\r\nThis is the mail system at host ").append(reportingMta).append(".\r\n\r\n").append(human)
                .append("\r\n");

        sb.append("--").append(boundary).append("\r\n");
        header(sb, "Content-Type", "message/delivery-status");
        header(sb, "Content-Description", "Delivery report");
        sb.append("\r\n");
        header(sb, "Reporting-MTA", "dns; " + reportingMta);
        header(sb, "X-Relay-Queue-ID", original.id().value());
        header(sb, "Arrival-Date", DATE.format(original.receivedAt()));
        sb.append(recipientBlocks).append("\r\n");

        sb.append("--").append(boundary).append("\r\n");
        header(sb, "Content-Type", "text/rfc822-headers");
        header(sb, "Content-Description", headersDescription);
        if (hasEightBit(originalHeaders)) {
            header(sb, "Content-Transfer-Encoding", "8bit");
        }
        sb.append("\r\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream(sb.length() + originalHeaders.length + 64);
        out.writeBytes(sb.toString().getBytes(StandardCharsets.UTF_8));
        out.writeBytes(originalHeaders);
        out.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    /**
     * The header section of a stored message, read as a stream up to the blank line that ends it (never the body),
     * with CRLF line ends, at most {@link #MAX_ORIGINAL_HEADERS} bytes of whole lines.
     */
    static byte[] readHeaders(Body body) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
        ByteArrayOutputStream line = new ByteArrayOutputStream(256);
        try (InputStream in = new BufferedInputStream(body.open(), 8192)) {
            int b;
            while (true) {
                b = in.read();
                if (b == '\n' || b < 0) {
                    byte[] l = line.toByteArray();
                    int len = l.length > 0 && l[l.length - 1] == '\r' ? l.length - 1 : l.length;
                    if (len == 0 || out.size() + len + 2 > MAX_ORIGINAL_HEADERS) {
                        break; // the blank line: the body starts here and is none of our business
                    }
                    out.write(l, 0, len);
                    out.write('\r');
                    out.write('\n');
                    line.reset();
                    if (b < 0) {
                        break;
                    }
                } else if (line.size() <= MAX_ORIGINAL_HEADERS) {
                    line.write(b);
                }
            }
        }
        return out.toByteArray();
    }

    private static String addressType(MailAddress a) {
        for (int i = 0; i < a.value().length(); i++) {
            if (a.value().charAt(i) > 0x7e) {
                return "utf-8"; // RFC 6533
            }
        }
        return "rfc822";
    }

    private static boolean hasEightBit(byte[] bytes) {
        for (byte b : bytes) {
            if (b < 0) {
                return true;
            }
        }
        return false;
    }

    private static String oneLine(String s) {
        return s.replaceAll("[\\r\\n]+", " ").replaceAll("\\p{Cntrl}", "?");
    }

    private static void header(StringBuilder sb, String name, String value) {
        sb.append(name).append(": ").append(value).append("\r\n");
    }
}
