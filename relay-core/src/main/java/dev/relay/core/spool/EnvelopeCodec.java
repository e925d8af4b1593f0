package dev.relay.core.spool;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The envelope file format: UTF-8 lines {@code key value}, ending with {@code end <crc32c>} over everything before
 * it. A file without a matching end line is torn or altered and is refused, never half-read.
 */
final class EnvelopeCodec {
    private static final String MAGIC = "relay-envelope 1";
    /** The first line of every envelope file, newline included. */
    static final byte[] HEAD = (MAGIC + "\n").getBytes(StandardCharsets.UTF_8);

    private EnvelopeCodec() {}

    static byte[] encode(Envelope e, long bodySize) {
        StringBuilder sb = new StringBuilder(256);
        sb.append(MAGIC).append('\n');
        line(sb, "id", e.id().value());
        line(sb, "sender", e.sender().value());
        for (MailAddress r : e.recipients()) {
            line(sb, "rcpt", r.value());
        }
        line(sb, "received", Long.toString(e.receivedAt().toEpochMilli()));
        line(sb, "submitter", e.submitter());
        line(sb, "attempts", Integer.toString(e.attempts()));
        line(sb, "next", Long.toString(e.nextAttempt().toEpochMilli()));
        line(sb, "error", e.lastError());
        if (e.smtputf8()) {
            line(sb, "smtputf8", "true"); // only when set: files without it read as false, as older ones do
        }
        if (e.delayWarned()) {
            line(sb, "warned", "true"); // likewise: a file of a version before delay warnings reads as not warned
        }
        line(sb, "size", Long.toString(bodySize));
        byte[] content = sb.toString().getBytes(StandardCharsets.UTF_8);
        byte[] end = ("end " + Long.toHexString(crc(content, content.length)) + "\n")
                .getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[content.length + end.length];
        System.arraycopy(content, 0, out, 0, content.length);
        System.arraycopy(end, 0, out, content.length, end.length);
        return out;
    }

    /** The decoded envelope and the body size it promises. */
    record Decoded(Envelope envelope, long bodySize) {}

    static Decoded decode(byte[] bytes) throws SpoolException {
        if (bytes.length < 2 || bytes[bytes.length - 1] != '\n') {
            throw new SpoolException(bytes.length == 0 ? "envelope is empty (torn write?)"
                    : "envelope has no end line (torn write?)");
        }
        int endLine = lastLineStart(bytes);
        String tail = new String(bytes, endLine, bytes.length - endLine, StandardCharsets.UTF_8);
        if (!tail.startsWith("end ") || !tail.endsWith("\n")) {
            throw new SpoolException("envelope has no end line (torn write?)");
        }
        long expected;
        try {
            expected = Long.parseUnsignedLong(tail.substring(4, tail.length() - 1), 16);
        } catch (NumberFormatException ex) {
            throw new SpoolException("envelope end line is malformed");
        }
        if (crc(bytes, endLine) != expected) {
            throw new SpoolException("envelope checksum mismatch");
        }
        String[] lines = new String(bytes, 0, endLine, StandardCharsets.UTF_8).split("\n");
        if (lines.length == 0 || !lines[0].equals(MAGIC)) {
            throw new SpoolException("not an envelope file of a known version");
        }
        String id = null, sender = null, submitter = "", error = "";
        long received = -1, next = -1, size = -1;
        int attempts = 0;
        boolean smtputf8 = false;
        boolean warned = false;
        List<MailAddress> rcpts = new ArrayList<>();
        try {
            for (int i = 1; i < lines.length; i++) {
                String l = lines[i];
                int sp = l.indexOf(' ');
                String key = sp < 0 ? l : l.substring(0, sp);
                String value = sp < 0 ? "" : unescape(l.substring(sp + 1));
                switch (key) {
                    case "id" -> id = value;
                    case "sender" -> sender = value;
                    case "rcpt" -> rcpts.add(new MailAddress(value));
                    case "received" -> received = Long.parseLong(value);
                    case "submitter" -> submitter = value;
                    case "attempts" -> attempts = Integer.parseInt(value);
                    case "next" -> next = Long.parseLong(value);
                    case "error" -> error = value;
                    case "smtputf8" -> smtputf8 = Boolean.parseBoolean(value);
                    case "warned" -> warned = Boolean.parseBoolean(value);
                    case "size" -> size = Long.parseLong(value);
                    default -> { } // written by a newer version: ignore what we do not know
                }
            }
            if (id == null || sender == null || received < 0 || next < 0 || size < 0) {
                throw new SpoolException("envelope lacks a required field");
            }
            Envelope e = new Envelope(new QueueId(id), new MailAddress(sender), rcpts,
                    Instant.ofEpochMilli(received), submitter, attempts, Instant.ofEpochMilli(next), error, smtputf8,
                    warned);
            return new Decoded(e, size);
        } catch (IllegalArgumentException ex) {
            throw new SpoolException("envelope field invalid: " + ex.getMessage());
        }
    }

    private static void line(StringBuilder sb, String key, String value) {
        sb.append(key).append(' ').append(escape(value)).append('\n');
    }

    /** Values are single lines: backslash, CR and LF are escaped (an error text may carry anything). */
    private static String escape(String v) {
        if (v.indexOf('\\') < 0 && v.indexOf('\n') < 0 && v.indexOf('\r') < 0) {
            return v;
        }
        return v.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r");
    }

    private static String unescape(String v) {
        if (v.indexOf('\\') < 0) {
            return v;
        }
        StringBuilder sb = new StringBuilder(v.length());
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == '\\' && i + 1 < v.length()) {
                char n = v.charAt(++i);
                sb.append(n == 'n' ? '\n' : n == 'r' ? '\r' : n);
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static int lastLineStart(byte[] bytes) {
        int i = bytes.length - 2; // skip the final newline
        while (i >= 0 && bytes[i] != '\n') {
            i--;
        }
        return i + 1;
    }

    private static long crc(byte[] bytes, int len) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, len);
        return crc.getValue();
    }
}
