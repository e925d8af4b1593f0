package dev.relay.bench.jmh;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Message content for the microbenchmarks: headers, then text lines of 78 characters with CRLF endings, one
 * line in 20 starting with a dot (so dot-stuffing and unstuffing have work to do), exactly {@code size} bytes.
 */
public final class Messages {
    private Messages() {}

    /** Stored form: CRLF line endings, no dot-stuffing, no end-of-data line; exactly {@code size} bytes. */
    public static byte[] content(int size) {
        StringBuilder sb = new StringBuilder(size + 100);
        sb.append("From: app@example.com\r\nTo: rcpt@example.org\r\nSubject: benchmark\r\n"
                + "Message-ID: <bench@example.com>\r\n\r\n");
        String text = "The quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmnopqrstuvw\r\n";
        String dotted = ".he quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmnopqrstuvw\r\n";
        for (int line = 0; sb.length() + text.length() + 2 <= size; line++) {
            sb.append(line % 20 == 19 ? dotted : text);
        }
        while (sb.length() < size - 2) {
            sb.append('x');
        }
        sb.setLength(Math.min(sb.length(), size - 2));
        sb.append("\r\n");
        byte[] b = sb.toString().getBytes(StandardCharsets.US_ASCII);
        if (b.length != size) {
            throw new IllegalStateException("content of " + b.length + " bytes, wanted " + size);
        }
        return b;
    }

    /** Wire form after DATA: every line starting with a dot gets a second one, then {@code .CRLF}. */
    public static byte[] wire(byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + content.length / 40 + 3);
        boolean lineStart = true;
        for (byte b : content) {
            if (lineStart && b == '.') {
                out.write('.');
            }
            out.write(b);
            lineStart = b == '\n';
        }
        out.writeBytes(".\r\n".getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }
}
