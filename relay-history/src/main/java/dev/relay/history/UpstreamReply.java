package dev.relay.history;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A delivery outcome's detail taken apart: the reply code, the RFC 3463 enhanced code, the text, and the upstream's
 * own id for the message when its {@code 250} reply carries one. The detail is what the delivery engine records per
 * recipient: {@code 250 2.0.0 Ok: queued as 4F1B2C3D4E} (code, then the reply's lines joined by {@code " / "}), or a
 * failure without a reply ({@code connection refused}), which has no code.
 *
 * <p>The upstream ids recognised, after the code and the optional enhanced code:
 * <ul>
 *   <li>{@code Ok: queued as ID}, {@code OK queued as ID}, {@code Message queued as ID}: Postfix, SendGrid
 *       ({@code 250 Ok: queued as nhIMmON9SFOPcT0ii4nt2A}), Mailjet, ZoneMTA, and this relay; the demo's capture
 *       sink's {@code Ok: captured as NAME} (NAME.eml in its outbox);</li>
 *   <li>{@code Ok ID}: Amazon SES ({@code 250 Ok 0100018c7f3a2b1e-...-000000}), the SES message id;</li>
 *   <li>{@code OK id=ID}: Exim;</li>
 *   <li>{@code Message Queued (ID)}, {@code Message accepted for delivery (ID)}: Haraka and others;</li>
 *   <li>{@code OK <ID@host>} and {@code Queued. ID}: Mailgun's and other providers' angle-bracketed or dotted
 *       forms. Mailgun's SMTP endpoint often answers only {@code 250 Great success}: then there is no id.</li>
 * </ul>
 *
 * @param code        the reply code, or -1 when there was no reply
 * @param enhanced    the enhanced status code ({@code 2.0.0}), or ""
 * @param text        the reply's text after the codes, or the whole detail when there was no reply
 * @param upstreamId  the upstream's id for the message, or null
 */
public record UpstreamReply(int code, String enhanced, String text, String upstreamId) {
    private static final Pattern REPLY = Pattern.compile("([2-5][0-9][0-9])(?: ([245]\\.[0-9]{1,3}\\.[0-9]{1,3}))?(?: (.*))?",
            Pattern.DOTALL);
    private static final String ID = "([A-Za-z0-9][A-Za-z0-9._@=+/:-]{3,254})";
    private static final List<Pattern> IDS = List.of(
            Pattern.compile("(?i)\\b(?:queued|captured) as <?" + ID + ">?"),
            Pattern.compile("(?i)^ok id=" + ID),
            Pattern.compile("(?i)\\b(?:queued|accepted for delivery) \\(" + ID + "\\)"),
            Pattern.compile("(?i)^ok <" + ID + ">"),
            Pattern.compile("(?i)^queued\\. " + ID),
            Pattern.compile("(?i)^ok " + ID + "$"));

    /** The parts of {@code detail}; a detail without a reply code has code -1 and the detail as its text. */
    public static UpstreamReply parse(String detail) {
        if (detail == null) {
            return new UpstreamReply(-1, "", "", null);
        }
        Matcher m = REPLY.matcher(detail);
        if (!m.matches()) {
            return new UpstreamReply(-1, "", detail, null);
        }
        int code = Integer.parseInt(m.group(1));
        String enhanced = m.group(2) == null ? "" : m.group(2);
        String text = m.group(3) == null ? "" : m.group(3);
        return new UpstreamReply(code, enhanced, text, code >= 200 && code <= 299 ? upstreamId(text) : null);
    }

    /** The upstream's id in the text of a positive reply, or null. */
    static String upstreamId(String text) {
        String first = text;
        int more = first.indexOf(" / "); // a multi-line reply: the id is on the first line
        if (more >= 0) {
            first = first.substring(0, more);
        }
        first = first.strip();
        for (Pattern p : IDS) {
            Matcher m = p.matcher(first);
            if (m.find()) {
                String id = m.group(1);
                while (id.endsWith(".") || id.endsWith(":")) {
                    id = id.substring(0, id.length() - 1);
                }
                return id.length() >= 4 ? id : null;
            }
        }
        return null;
    }
}
