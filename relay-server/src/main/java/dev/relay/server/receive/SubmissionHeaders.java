package dev.relay.server.receive;

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
     * As {@link #wrap(InputStream, String, String, ZonedDateTime)}; before it returns, {@code fields} gets the
     * header's {@code From:} and {@code Sender:} fields in order, each unfolded as {@code Name:value} (the name as
     * written); empty if there are none or the header section is too long. They are parsed by
     * {@link SubmissionHandler#checkHeaderFrom}, with a real RFC 5322 parser.
     */
    static InputStream wrap(InputStream content, String received, String hostname, ZonedDateTime now,
                            Consumer<List<String>> fields) throws IOException {
        return wrap(content, received, hostname, now, fields, (id, subject) -> { });
    }

    /**
     * As {@link #wrap(InputStream, String, String, ZonedDateTime, Consumer)}; before it returns, {@code idAndSubject}
     * gets the {@code Message-ID} as stored (the client's, or the one added) and the {@code Subject} unfolded (null
     * when there is none), for the message history.
     */
    static InputStream wrap(InputStream content, String received, String hostname, ZonedDateTime now,
                            Consumer<List<String>> fields, java.util.function.BiConsumer<String, String> idAndSubject)
            throws IOException {
        return wrap(content, received, hostname, now, fields, idAndSubject, handoff -> { });
    }

    /**
     * As above; {@code handoffFields} gets each {@code X-Relay-Handoff} field's first line (the trace header of a
     * message another replica handed off), checked by {@link SubmissionHandler#checkHandoff}.
     */
    static InputStream wrap(InputStream content, String received, String hostname, ZonedDateTime now,
                            Consumer<List<String>> fields, java.util.function.BiConsumer<String, String> idAndSubject,
                            Consumer<String> handoffFields) throws IOException {
        String messageIdValue = null;
        StringBuilder subject = null;
        boolean inSubject = false;
        boolean inMessageId = false;
        List<StringBuilder> addressFields = new ArrayList<>();
        boolean inAddressField = false;
        boolean tooLong = false;
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
                tooLong = true;
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
                    messageIdValue = "<" + UUID.randomUUID() + "@" + hostname + ">";
                    head.write(("Message-ID: " + messageIdValue + "\r\n").getBytes(StandardCharsets.US_ASCII));
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
                inSubject = name.equalsIgnoreCase("Subject") && subject == null;
                if (inSubject) {
                    subject = new StringBuilder(unfold(line).substring(name.length() + 1));
                }
                inMessageId = name.equalsIgnoreCase("Message-ID") && !messageId;
                if (inMessageId) {
                    messageIdValue = unfold(line).substring(name.length() + 1);
                }
                messageId |= name.equalsIgnoreCase("Message-ID");
                date |= name.equalsIgnoreCase("Date");
                inAddressField = name.equalsIgnoreCase("From") || name.equalsIgnoreCase("Sender");
                if (name.equalsIgnoreCase(dev.relay.core.handoff.HandoffHeader.NAME)) {
                    handoffFields.accept(unfold(line));
                }
                if (inAddressField) {
                    addressFields.add(new StringBuilder(unfold(line)));
                }
            } else {
                if (inAddressField) {
                    addressFields.get(addressFields.size() - 1).append(unfold(line));
                }
                if (inSubject) {
                    subject.append(unfold(line));
                }
                if (inMessageId) {
                    messageIdValue += unfold(line);
                }
            }
            section.write(line);
        }
        fields.accept(tooLong ? List.of() : addressFields.stream().map(StringBuilder::toString).toList());
        idAndSubject.accept(messageIdValue == null ? null : messageIdValue.strip(),
                subject == null ? null : subject.toString().strip());
        return new SequenceInputStream(new ByteArrayInputStream(head.toByteArray()), content);
    }

    /** A header line without its line end (unfolding, RFC 5322 section 2.2.3). */
    private static String unfold(byte[] line) {
        String s = new String(line, StandardCharsets.UTF_8);
        int end = s.length();
        while (end > 0 && (s.charAt(end - 1) == '\r' || s.charAt(end - 1) == '\n')) {
            end--;
        }
        return s.substring(0, end);
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
