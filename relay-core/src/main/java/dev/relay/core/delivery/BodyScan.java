package dev.relay.core.delivery;

import dev.relay.core.spool.BodyInput;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

/** What MAIL FROM needs to know about the content: its size and whether it has 8-bit bytes. */
record BodyScan(long size, boolean eightBit) {

    /** Scans the first {@code length} bytes of {@code body} (all of it when negative). */
    static BodyScan of(Path body, long length) throws IOException {
        long size = 0;
        boolean eightBit = false;
        byte[] buf = new byte[length < 0 ? 64 * 1024 : (int) Math.max(1, Math.min(64 * 1024, length))];
        try (InputStream in = BodyInput.open(body, length)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                size += n;
                for (int i = 0; i < n && !eightBit; i++) {
                    eightBit = buf[i] < 0;
                }
            }
        }
        return new BodyScan(size, eightBit);
    }
}
