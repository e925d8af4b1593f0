package dev.relay.core.delivery;

import dev.relay.core.spool.Body;
import java.io.IOException;
import java.io.InputStream;

/** What MAIL FROM needs to know about the content: its size and whether it has 8-bit bytes. */
record BodyScan(long size, boolean eightBit) {

    /** Reads {@code body} through once. */
    static BodyScan of(Body body) throws IOException {
        long length = body.knownSize();
        long size = 0;
        boolean eightBit = false;
        byte[] buf = new byte[length < 0 ? 64 * 1024 : (int) Math.max(1, Math.min(64 * 1024, length))];
        try (InputStream in = body.open()) {
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
