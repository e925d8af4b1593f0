package dev.relay.core.delivery;

import dev.relay.core.spool.Body;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The 7-bit conversion of {@link SevenBitConverter} written to a file, for a stage that must fix the content
 * before delivery: the routing stage converts an 8-bit message before it signs it (DKIM), so that no upstream
 * without 8BITMIME has to convert, and so break, a signed message (RFC 6376 section 5.3). The converted copy has
 * no 8-bit byte left: the delivery sends it as it is.
 */
public final class SevenBitCopy {
    private SevenBitCopy() {
    }

    /** Whether {@code body} has a byte with the high bit set (one read of it). */
    public static boolean hasEightBit(Body body) throws IOException {
        return BodyScan.of(body).eightBit();
    }

    /**
     * Writes {@code body} converted to 7 bit into {@code target}.
     *
     * @return null when converted, else why it cannot be (then {@code target} holds nothing usable)
     */
    public static String write(Body body, Path target) throws IOException {
        SevenBitDowngrade plan = SevenBitDowngrade.plan(body);
        if (plan.refusal() != null) {
            return plan.refusal();
        }
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(target), 64 * 1024)) {
            SevenBitConverter converter = plan.converter(new SevenBitConverter.Sink() {
                @Override
                public void write(byte[] b, int off, int len) {
                    try {
                        out.write(b, off, len);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }

                @Override
                public void write(int b) {
                    write(new byte[] {(byte) b}, 0, 1); // rare: the converter writes runs
                }
            });
            SevenBitDowngrade.pass(body, new byte[64 * 1024], converter);
            return converter.refusal();
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
