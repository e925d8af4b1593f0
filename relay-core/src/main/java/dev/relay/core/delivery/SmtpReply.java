package dev.relay.core.delivery;

import io.netty.handler.codec.smtp.SmtpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One (possibly multi-line) SMTP reply as the upstream sent it.
 *
 * @param code  the reply code; anything outside 200-599 is a protocol error (see {@link #isWellFormed})
 * @param lines the text of each line, without code and separator
 */
record SmtpReply(int code, List<String> lines) {
    private static final Pattern ENHANCED = Pattern.compile("[245]\\.\\d{1,3}\\.\\d{1,3}");
    /** C0, DEL and C1 (U+0080-U+009F): {@code \p{Cntrl}} alone is ASCII only. */
    private static final Pattern CONTROL = Pattern.compile("\\p{Cc}");
    private static final int MAX_DETAIL = 512;

    SmtpReply {
        lines = List.copyOf(lines);
    }

    static SmtpReply of(SmtpResponse response) {
        List<String> lines = new ArrayList<>(response.details().size());
        for (CharSequence line : response.details()) {
            lines.add(line.toString());
        }
        return new SmtpReply(response.code(), lines);
    }

    /** Three digits, 200-599: what RFC 5321 allows after the greeting (1yz is never used). */
    boolean isWellFormed() {
        return code >= 200 && code <= 599;
    }

    boolean isPositive() {
        return code >= 200 && code <= 299;
    }

    boolean isIntermediate() {
        return code >= 300 && code <= 399;
    }

    boolean isTransient() {
        return code >= 400 && code <= 499;
    }

    boolean isPermanent() {
        return code >= 500 && code <= 599;
    }

    /**
     * A reply that says "slow down" rather than "no": {@code 421} (service closing, often "too many
     * connections"), a 4xx with enhanced code {@code 4.7.x} ({@code 451 4.7.0 rate limit}), or a 4xx whose text
     * speaks of throttling or rate limits ({@code 454 Throttling failure} from Amazon SES).
     */
    boolean isThrottling() {
        if (code == 421) {
            return true;
        }
        if (!isTransient()) {
            return false;
        }
        if (enhancedCode().startsWith("4.7.")) {
            return true;
        }
        String text = String.join(" ", lines).toLowerCase(java.util.Locale.ROOT);
        return text.contains("throttl") || text.contains("rate limit") || text.contains("too many");
    }

    /** The RFC 3463 enhanced status code at the start of the first line ({@code 5.1.1}), or "". */
    String enhancedCode() {
        if (lines.isEmpty()) {
            return "";
        }
        String first = lines.get(0);
        int space = first.indexOf(' ');
        String token = space < 0 ? first : first.substring(0, space);
        return ENHANCED.matcher(token).matches() ? token : "";
    }

    /** Code, enhanced code and text on one line ({@code 550 5.1.1 user unknown}), for details and logs. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        sb.append(code < 0 ? "???" : String.format("%03d", code));
        for (int i = 0; i < lines.size(); i++) {
            sb.append(i == 0 ? " " : " / ").append(lines.get(i));
        }
        String s = CONTROL.matcher(sb).replaceAll("?");
        return s.length() <= MAX_DETAIL ? s : s.substring(0, MAX_DETAIL) + "...";
    }
}
