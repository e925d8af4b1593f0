package dev.relay.core.delivery;

import java.nio.charset.StandardCharsets;

/**
 * The two content transfer encodings of RFC 2045, streaming, for {@link SevenBitConverter}: quoted-printable
 * (section 6.7: every line at most 76 characters, the soft line break's '=' included; white space at the end of a
 * line encoded; every byte outside 33..126, and '=', encoded) and base64 (section 6.8: lines of 76 characters).
 * Also checks whether a leaf's bytes are UTF-8, for the charset a converted message without {@code Content-Type}
 * is labelled with. One per converter, {@link #start started} again for each leaf. Not thread-safe.
 */
final class TransferEncoder {
    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] HEX = "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] B64 =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".getBytes(StandardCharsets.US_ASCII);

    private final SevenBitConverter.Sink out;
    private int column;
    /** A space or tab held back until it is known not to end the line (quoted-printable), or -1. */
    private int pendingSpace = -1;
    private int group;
    private int groupLen;
    /** The line ending of the last line (base64): content, unless a delimiter follows (RFC 2046 section 5.1.1). */
    private boolean pendingLineBreak;
    private int utf8Needed;
    private boolean utf8Bad;

    TransferEncoder(SevenBitConverter.Sink out) {
        this.out = out;
    }

    /** A new leaf begins. */
    void start() {
        column = 0;
        pendingSpace = -1;
        group = 0;
        groupLen = 0;
        pendingLineBreak = false;
        utf8Needed = 0;
        utf8Bad = false;
    }

    // ---- quoted-printable --------------------------------------------------------------------------------------

    void qp(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            int c = b[i] & 0xff;
            if (pendingSpace >= 0) {
                literal(pendingSpace); // not at the end of the line: white space stays as it is
                pendingSpace = -1;
            }
            if (c == ' ' || c == '\t') {
                pendingSpace = c;
            } else if (c >= 33 && c <= 126 && c != '=') {
                literal(c);
            } else {
                encoded(c);
            }
        }
    }

    /** A hard line break: the line's trailing white space encoded, then CRLF. */
    void qpLineEnd() {
        qpEnd();
        out.write(CRLF, 0, 2);
        column = 0;
    }

    /** The end of the leaf's content (a delimiter or the end of the message follows). */
    void qpEnd() {
        if (pendingSpace >= 0) {
            encoded(pendingSpace);
            pendingSpace = -1;
        }
    }

    private void literal(int c) {
        softBreak(1);
        out.write(c);
        column++;
    }

    private void encoded(int c) {
        softBreak(3);
        out.write('=');
        out.write(HEX[c >> 4]);
        out.write(HEX[c & 15]);
        column += 3;
    }

    private void softBreak(int width) {
        if (column + width > 75) {
            out.write('=');
            out.write(CRLF, 0, 2);
            column = 0;
        }
    }

    // ---- base64 ------------------------------------------------------------------------------------------------

    /** Content bytes; {@code lineStart} when they begin a line (so the previous line's ending is content). */
    void base64(byte[] b, int off, int len, boolean lineStart) {
        if (lineStart && pendingLineBreak) {
            pendingLineBreak = false;
            base64(CRLF, 0, 2);
        }
        base64(b, off, len);
    }

    void base64LineEnd() {
        pendingLineBreak = true;
    }

    /** The last line's ending belongs to the content: no delimiter follows (the top entity). */
    void base64LastLineEnding() {
        if (pendingLineBreak) {
            pendingLineBreak = false;
            base64(CRLF, 0, 2);
        }
    }

    /** The end of the leaf's content: the last group padded, the last line ended. */
    void base64End() {
        pendingLineBreak = false;
        if (groupLen > 0) {
            int g = group << (8 * (3 - groupLen));
            out.write(B64[(g >> 18) & 63]);
            out.write(B64[(g >> 12) & 63]);
            out.write(groupLen == 2 ? B64[(g >> 6) & 63] : '=');
            out.write('=');
            column += 4;
            groupLen = 0;
        }
        if (column > 0) {
            out.write(CRLF, 0, 2);
            column = 0;
        }
    }

    private void base64(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            group = (group << 8) | (b[i] & 0xff);
            if (++groupLen == 3) {
                out.write(B64[(group >> 18) & 63]);
                out.write(B64[(group >> 12) & 63]);
                out.write(B64[(group >> 6) & 63]);
                out.write(B64[group & 63]);
                group = 0;
                groupLen = 0;
                column += 4;
                if (column >= 76) {
                    out.write(CRLF, 0, 2);
                    column = 0;
                }
            }
        }
    }

    // ---- UTF-8 -------------------------------------------------------------------------------------------------

    /** Follows the leaf's bytes (line endings left out: they are ASCII) through a UTF-8 decoder. */
    void checkUtf8(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            int c = b[i] & 0xff;
            if (utf8Needed > 0) {
                if ((c & 0xc0) == 0x80) {
                    utf8Needed--;
                } else {
                    utf8Bad = true;
                    utf8Needed = 0;
                }
            } else if (c >= 0xc2 && c <= 0xdf) {
                utf8Needed = 1;
            } else if ((c & 0xf0) == 0xe0) {
                utf8Needed = 2;
            } else if (c >= 0xf0 && c <= 0xf4) {
                utf8Needed = 3;
            } else if (c >= 0x80) {
                utf8Bad = true;
            }
        }
    }

    /** Whether the leaf's bytes so far are UTF-8 (ASCII included). */
    boolean utf8() {
        return !utf8Bad && utf8Needed == 0;
    }
}
