package dev.relay.core.handoff;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The trace header of a handed-off message: {@code X-Relay-Handoff: id=<queue id>; received=<ISO instant>;
 * from=<replica>; hop=<n>}, put first in the header section by the sending replica (like {@code Received:}); one
 * more for each hand-off, so the highest {@code hop} counts the hand-offs so far.
 *
 * @param id       the queue id on the replica that handed the message off
 * @param received when that replica acknowledged the message
 * @param from     that replica's host name
 * @param hop      how many hand-offs this one makes, from 1
 */
public record HandoffHeader(String id, Instant received, String from, int hop) {
    public static final String NAME = "X-Relay-Handoff";
    private static final Pattern FIELD = Pattern.compile("(?i)^x-relay-handoff:");
    private static final Pattern HOP = Pattern.compile("(?:^|;)\\s*hop=(\\d{1,6})\\s*(?:;|$)");
    private static final Pattern ID = Pattern.compile("(?:^|;)\\s*id=([^;\\s]+)");
    /** The longest header section read for the hop count; past it the message counts as not handed off. */
    static final int MAX_HEADER_SECTION = 256 * 1024;

    /** The header line with its CRLF. */
    public String line() {
        return NAME + ": id=" + id + "; received=" + received + "; from=" + from.replaceAll("[^\\x21-\\x7e]|;", "?")
                + "; hop=" + hop + "\r\n";
    }

    /** Whether {@code line} (a header field's first line) is an {@code X-Relay-Handoff} field. */
    public static boolean isHandoffField(String line) {
        return FIELD.matcher(line).find();
    }

    /** The {@code hop} of a header field's value (after the colon), or 1 when it names none (a forged one). */
    public static int hopOf(String field) {
        Matcher m = HOP.matcher(field.substring(field.indexOf(':') + 1).strip());
        return m.find() ? Integer.parseInt(m.group(1)) : 1;
    }

    /** The {@code id} a field names, or null. */
    public static String idOf(String field) {
        Matcher m = ID.matcher(field.substring(field.indexOf(':') + 1).strip());
        return m.find() ? m.group(1) : null;
    }

    /**
     * The highest {@code hop} among the {@code X-Relay-Handoff} fields of the message {@code content} reads (its
     * header section only), 0 when it has none.
     */
    public static int hops(InputStream content) throws IOException {
        int hops = 0;
        StringBuilder line = new StringBuilder();
        int read = 0;
        int b;
        while ((b = content.read()) != -1 && read++ < MAX_HEADER_SECTION) {
            if (b != '\n') {
                line.append((char) b);
                continue;
            }
            String text = line.toString().strip();
            if (text.isEmpty()) {
                break; // the end of the header section
            }
            if (isHandoffField(text)) {
                hops = Math.max(hops, hopOf(text));
            }
            line.setLength(0);
        }
        return hops;
    }
}
