package dev.relay.core.dkim;

import java.security.MessageDigest;
import java.util.Locale;

/**
 * The "relaxed" canonicalization of RFC 6376 section 3.4: {@link #header} for one header field (3.4.2), and an
 * instance for the body (3.4.4), fed as the body is read and written straight into a digest, so a body of any
 * size costs one small buffer.
 *
 * <p>Line endings are counted as the delivery stage sends them ({@code DotStuffer}): CRLF, a bare LF and a bare
 * CR each end one line, so the hash is over the lines the receiver gets.
 */
final class Relaxed {
    private final MessageDigest digest;
    private final byte[] out = new byte[8 * 1024];
    private int len;
    /** Line ends read but not yet written: they are dropped if only empty lines follow. */
    private long lineEnds;
    /** White space read since the last other character of this line. */
    private boolean space;
    /** The previous byte was a CR (its line end is counted once the next byte is known). */
    private boolean cr;
    private boolean content;

    Relaxed(MessageDigest digest) {
        this.digest = digest;
    }

    /**
     * One header field ({@code Name: value}, folding and line end included) canonicalized: the name lower-cased,
     * the value unfolded, each run of spaces and tabs one space, none at either end of the value, no space around
     * the colon; ends with CRLF.
     */
    static String header(String field) {
        int colon = field.indexOf(':');
        String name = field.substring(0, colon).strip().toLowerCase(Locale.ROOT);
        String value = field.substring(colon + 1).replaceAll("\r\n|\r|\n", "").replaceAll("[ \t]+", " ");
        return name + ":" + value.strip() + "\r\n";
    }

    /** Feeds {@code n} body bytes from {@code off}. */
    void update(byte[] b, int off, int n) {
        for (int i = off, end = off + n; i < end; i++) {
            int c = b[i];
            if (cr) {
                cr = false;
                lineEnd();
                if (c == '\n') {
                    continue;
                }
            }
            switch (c) {
                case '\r' -> cr = true;
                case '\n' -> lineEnd();
                case ' ', '\t' -> space = true;
                default -> {
                    for (; lineEnds > 0; lineEnds--) {
                        put('\r');
                        put('\n');
                    }
                    if (space) {
                        put(' ');
                        space = false;
                    }
                    put(c);
                    content = true;
                }
            }
        }
    }

    /** The hash of the canonical body: empty lines at its end dropped, the last line ended with CRLF. */
    byte[] finish() {
        if (cr) {
            cr = false;
            lineEnd();
        }
        if (content) {
            put('\r');
            put('\n');
        }
        digest.update(out, 0, len);
        len = 0;
        return digest.digest();
    }

    private void lineEnd() {
        space = false; // white space at the end of a line is ignored
        lineEnds++;
    }

    private void put(int c) {
        if (len == out.length) {
            digest.update(out, 0, len);
            len = 0;
        }
        out[len++] = (byte) c;
    }
}
