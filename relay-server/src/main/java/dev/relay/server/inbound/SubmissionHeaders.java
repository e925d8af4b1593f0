package dev.relay.server.inbound;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * The content as stored: a {@code Received:} header first, then the client's header section with
 * {@code Message-ID} and {@code Date} added when missing (RFC 6409 section 8.3 and 8.1), then the body, streamed.
 * Only the header section is held, up to {@link #MAX_HEADER_SECTION} bytes; beyond that it is passed on unchanged.
 * The content must have CRLF line endings ({@link DataStream} makes sure).
 */
final class SubmissionHeaders {
    static final int MAX_HEADER_SECTION = 256 * 1024;
    private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z",
            Locale.US);
    private static final byte[] CRLF = {'\r', '\n'};

    private SubmissionHeaders() {
    }

    /**
     * @param received the whole Received header, CRLF-terminated
     */
    static InputStream wrap(InputStream content, String received, String hostname, ZonedDateTime now)
            throws IOException {
        return wrap(content, received, hostname, now, from -> { });
    }

    /**
     * As {@link #wrap(InputStream, String, String, ZonedDateTime)}; before it returns, {@code from} gets the
     * addresses of the header {@code From:} fields (empty if there is none or the header section is too long).
     */
    static InputStream wrap(InputStream content, String received, String hostname, ZonedDateTime now,
                            Consumer<List<String>> from) throws IOException {
        StringBuilder fromValue = null;
        boolean inFrom = false;
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        head.write(received.getBytes(StandardCharsets.US_ASCII));
        ByteArrayOutputStream section = new ByteArrayOutputStream();
        boolean messageId = false;
        boolean date = false;
        while (true) {
            ByteArrayOutputStream read = new ByteArrayOutputStream();
            if (!readLine(content, MAX_HEADER_SECTION - section.size(), read)) {
                head.write(section.toByteArray()); // too long a header section: pass it on as it is
                head.write(read.toByteArray());
                fromValue = null;
                break;
            }
            byte[] line = read.toByteArray();
            boolean eof = line.length == 0;
            boolean blank = line.length == 2 && line[0] == '\r';
            boolean continuation = !eof && (line[0] == ' ' || line[0] == '\t');
            String name = eof || blank || continuation ? null : fieldName(line);
            if (eof || blank || (!continuation && name == null)) { // the end of the header section
                head.write(section.toByteArray());
                if (!messageId) {
                    head.write(("Message-ID: <" + UUID.randomUUID() + "@" + hostname + ">\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                }
                if (!date) {
                    head.write(("Date: " + DATE.format(now) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                }
                if (!eof && !blank) {
                    head.write(CRLF); // the line is not a header: it starts the body
                }
                head.write(line);
                break;
            }
            if (name != null) {
                messageId |= name.equalsIgnoreCase("Message-ID");
                date |= name.equalsIgnoreCase("Date");
                inFrom = name.equalsIgnoreCase("From");
                if (inFrom) {
                    fromValue = (fromValue == null ? new StringBuilder() : fromValue.append(','))
                            .append(new String(line, name.length() + 1, line.length - name.length() - 1,
                                    StandardCharsets.UTF_8));
                }
            } else if (inFrom) {
                fromValue.append(new String(line, StandardCharsets.UTF_8));
            }
            section.write(line);
        }
        from.accept(fromValue == null ? List.of() : addresses(fromValue.toString()));
        return new SequenceInputStream(new ByteArrayInputStream(head.toByteArray()), content);
    }

    /**
     * The addresses of a From field value (RFC 5322 mailbox-list): the list is split at commas outside quotes,
     * comments and angle brackets; each mailbox gives its angle-bracketed address, or else its bare text (group
     * names and comments dropped). Lower-cased for comparison.
     */
    static List<String> addresses(String value) {
        List<String> out = new ArrayList<>();
        StringBuilder bare = new StringBuilder();
        StringBuilder angle = null;
        String bracketed = null;
        boolean quoted = false;
        int comment = 0;
        for (int i = 0; i <= value.length(); i++) {
            char c = i < value.length() ? value.charAt(i) : ',';
            if (c == '\r' || c == '\n') {
                continue;
            }
            if (quoted) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    quoted = false;
                }
            } else if (comment > 0) {
                if (c == '(') {
                    comment++;
                } else if (c == ')') {
                    comment--;
                }
            } else if (angle != null) {
                if (c == '>') {
                    bracketed = angle.toString();
                    angle = null;
                } else {
                    angle.append(c);
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == '(') {
                comment++;
            } else if (c == '<') {
                angle = new StringBuilder();
            } else if (c == ':') {
                bare.setLength(0); // a group's display name
            } else if (c == ',' || c == ';') {
                String a = (bracketed != null ? bracketed : bare.toString()).strip();
                if (!a.isEmpty()) {
                    out.add(a.toLowerCase(Locale.ROOT));
                }
                bare.setLength(0);
                bracketed = null;
            } else {
                bare.append(c);
            }
        }
        return List.copyOf(out);
    }

    /** Reads a line with its CRLF (nothing at the end of the content); false if it is longer than {@code max}. */
    private static boolean readLine(InputStream in, int max, ByteArrayOutputStream line) throws IOException {
        int b;
        while ((b = in.read()) != -1) {
            line.write(b);
            if (b == '\n') {
                return true;
            }
            if (line.size() >= max) {
                return false;
            }
        }
        return true;
    }

    /** The field name if the line is a header field ({@code name:}), else null. */
    private static String fieldName(byte[] line) {
        for (int i = 0; i < line.length; i++) {
            byte c = line[i];
            if (c == ':') {
                return i == 0 ? null : new String(line, 0, i, StandardCharsets.US_ASCII);
            }
            if (c < 33 || c > 126) {
                return null;
            }
        }
        return null;
    }
}
