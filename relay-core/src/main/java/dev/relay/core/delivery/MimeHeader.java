package dev.relay.core.delivery;

import static dev.relay.core.delivery.SevenBitConverter.MAX_HEADER;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * One MIME entity's header section for {@link SevenBitConverter}: kept (at most {@link SevenBitConverter#MAX_HEADER}
 * bytes) until its end, then read for the fields the conversion needs ({@code Content-Type} with its boundary,
 * {@code Content-Transfer-Encoding}, {@code MIME-Version}) and written out again byte for byte, save the
 * {@code Content-Transfer-Encoding} field when the encoding changes. Reused for every entity of a message.
 */
final class MimeHeader {
    private byte[] buf = new byte[1024];
    private int len;
    String type;
    String boundary;
    String encoding;
    int mimeVersion = -1;

    boolean append(byte[] b, int off, int n) {
        if (len + n + 2 > MAX_HEADER) {
            return false;
        }
        if (len + n + 2 > buf.length) {
            buf = Arrays.copyOf(buf, Math.min(MAX_HEADER, Math.max(buf.length * 2, len + n + 2)));
        }
        System.arraycopy(b, off, buf, len, n);
        len += n;
        return true;
    }

    void endLine() {
        buf[len++] = '\r';
        buf[len++] = '\n';
    }

    void clear() {
        len = 0;
        type = null;
        boundary = null;
        encoding = null;
        mimeVersion = -1;
        if (buf.length > 64 * 1024) {
            buf = new byte[1024];
        }
    }

    /** Reads Content-Type, its boundary, Content-Transfer-Encoding and whether MIME-Version is there. */
    void parse() {
        for (int start = 0; start < len; ) {
            int end = fieldEnd(start);
            String field = new String(buf, start, end - start, StandardCharsets.ISO_8859_1);
            int colon = field.indexOf(':');
            if (colon > 0) {
                String name = field.substring(0, colon).trim().toLowerCase(Locale.ROOT);
                String value = unfold(field.substring(colon + 1));
                if (name.equals("content-type") && type == null) {
                    type = token(value);
                    boundary = parameter(value, "boundary");
                } else if (name.equals("content-transfer-encoding") && encoding == null) {
                    encoding = token(value);
                } else if (name.equals("mime-version")) {
                    mimeVersion = start;
                }
            }
            start = end;
        }
        if (type != null && type.indexOf('/') < 0) {
            type = null; // RFC 2045 section 5.2: an unreadable Content-Type is text/plain
        }
    }

    /** Writes the section, the Content-Transfer-Encoding field(s) replaced by one saying {@code encoding}. */
    void writeTo(SevenBitConverter.Sink out, String newEncoding) {
        if (newEncoding == null) {
            out.write(buf, 0, len);
            return;
        }
        boolean written = false;
        for (int start = 0; start < len; ) {
            int end = fieldEnd(start);
            if (isEncodingField(start, end)) {
                if (!written) {
                    byte[] f = ("Content-Transfer-Encoding: " + newEncoding + "\r\n")
                            .getBytes(StandardCharsets.US_ASCII);
                    out.write(f, 0, f.length);
                    written = true;
                }
            } else {
                out.write(buf, start, end - start);
            }
            start = end;
        }
    }

    private boolean isEncodingField(int start, int end) {
        String prefix = "content-transfer-encoding";
        int i = start;
        for (int k = 0; k < prefix.length(); k++, i++) {
            if (i >= end || Character.toLowerCase((char) buf[i]) != prefix.charAt(k)) {
                return false;
            }
        }
        while (i < end && (buf[i] == ' ' || buf[i] == '\t')) {
            i++;
        }
        return i < end && buf[i] == ':';
    }

    /** The end of the field starting at {@code start}: past its last line, continuation lines included. */
    private int fieldEnd(int start) {
        int i = start;
        while (true) {
            while (i < len && buf[i] != '\n') {
                i++;
            }
            i = Math.min(len, i + 1);
            if (i >= len || (buf[i] != ' ' && buf[i] != '\t')) {
                return i;
            }
        }
    }

    /** The value without its line breaks. */
    static String unfold(String value) {
        return value.replace("\r", "").replace("\n", "").trim();
    }

    /** The value's first token (a media type, an encoding) in lower case, comments and white space left out. */
    static String token(String value) {
        StringBuilder sb = new StringBuilder();
        int depth = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '(') {
                depth++;
            } else if (c == ')' && depth > 0) {
                depth--;
            } else if (c == '\\' && depth > 0) {
                i++;
            } else if (depth == 0) {
                if (c == ';') {
                    break;
                }
                if (c != ' ' && c != '\t') {
                    sb.append(c);
                }
            }
        }
        return sb.toString().toLowerCase(Locale.ROOT);
    }

    /** The value of parameter {@code name} (a token or a quoted string), or null. */
    static String parameter(String value, String name) {
        int i = value.indexOf(';');
        while (i >= 0 && i < value.length()) {
            int eq = value.indexOf('=', i);
            if (eq < 0) {
                return null;
            }
            String key = value.substring(i + 1, eq).trim();
            int j = eq + 1;
            while (j < value.length() && (value.charAt(j) == ' ' || value.charAt(j) == '\t')) {
                j++;
            }
            StringBuilder v = new StringBuilder();
            if (j < value.length() && value.charAt(j) == '"') {
                for (j++; j < value.length() && value.charAt(j) != '"'; j++) {
                    if (value.charAt(j) == '\\' && j + 1 < value.length()) {
                        j++;
                    }
                    v.append(value.charAt(j));
                }
                j++;
            } else {
                for (; j < value.length() && value.charAt(j) != ';' && value.charAt(j) != ' '
                        && value.charAt(j) != '\t' && value.charAt(j) != '('; j++) {
                    v.append(value.charAt(j));
                }
            }
            if (key.equalsIgnoreCase(name)) {
                return v.toString();
            }
            i = value.indexOf(';', j);
        }
        return null;
    }
}
