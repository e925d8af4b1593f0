package dev.relay.core.delivery;

/**
 * Turns stored message bytes into SMTP DATA content, one chunk at a time (RFC 5321 section 4.5.2).
 *
 * <p>Every line ending becomes CRLF (a bare LF or a bare CR too, so no end-of-data variant can be smuggled
 * through to the upstream), a '.' at the start of a line is doubled, and {@link #finish} closes the last line
 * and appends the terminating {@code .CRLF}. The state carries across chunks, so a CR at the end of one chunk
 * and an LF at the start of the next are one line ending.
 *
 * <p>Not thread-safe: one instance per message transfer.
 */
public final class DotStuffer {
    private static final byte CR = '\r';
    private static final byte LF = '\n';
    private static final byte DOT = '.';

    private boolean atLineStart = true;
    private boolean pendingCr;

    /** The output capacity {@link #encode} may need for {@code inputLength} input bytes. */
    public static int maxEncodedLength(int inputLength) {
        return 2 * inputLength + 2;
    }

    /** The output capacity {@link #finish} may need. */
    public static int maxFinishLength() {
        return 5;
    }

    /**
     * Encodes {@code len} bytes of {@code in} from {@code off} into {@code out} from {@code outOff}.
     *
     * @return the number of bytes written to {@code out}
     */
    public int encode(byte[] in, int off, int len, byte[] out, int outOff) {
        int o = outOff;
        for (int i = off, end = off + len; i < end; i++) {
            byte b = in[i];
            if (pendingCr) {
                pendingCr = false;
                out[o++] = CR;
                out[o++] = LF;
                atLineStart = true;
                if (b == LF) {
                    continue;
                }
            }
            if (b == CR) {
                pendingCr = true;
            } else if (b == LF) {
                out[o++] = CR;
                out[o++] = LF;
                atLineStart = true;
            } else {
                if (atLineStart && b == DOT) {
                    out[o++] = DOT;
                }
                out[o++] = b;
                atLineStart = false;
            }
        }
        return o - outOff;
    }

    /**
     * Ends the content: closes an unterminated last line and writes the end-of-data line {@code .CRLF}.
     *
     * @return the number of bytes written to {@code out}
     */
    public int finish(byte[] out, int outOff) {
        int o = outOff;
        if (pendingCr || !atLineStart) {
            pendingCr = false;
            out[o++] = CR;
            out[o++] = LF;
        }
        out[o++] = DOT;
        out[o++] = CR;
        out[o++] = LF;
        atLineStart = true;
        return o - outOff;
    }
}
