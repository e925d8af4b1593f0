package dev.relay.core.delivery;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** What MAIL FROM needs to know about the content: its size and whether it has 8-bit bytes. */
record BodyScan(long size, boolean eightBit) {

    static BodyScan of(Path body) throws IOException {
        long size = 0;
        boolean eightBit = false;
        byte[] buf = new byte[64 * 1024];
        try (InputStream in = Files.newInputStream(body)) {
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
