package dev.relay.core.delivery;

import dev.relay.core.spool.Body;
import java.io.IOException;
import java.io.InputStream;
import java.util.BitSet;

/**
 * Whether, and to what size, a stored 8-bit message converts to 7 bit for an upstream that does not offer
 * 8BITMIME ({@link SevenBitConverter}'s two passes over the file; nothing is written).
 *
 * <p>Where it runs, and why: what an upstream offers is known only after EHLO on a connection, so the decision is
 * made there, by {@link TransactionFlight}, before MAIL: the plan's refusal fails the recipients permanently
 * before anything of the message is sent, and its size is the {@code SIZE=} that MAIL declares. Reading the file
 * twice would block the event loop, so the plan is made on a virtual thread while the connection waits in
 * {@link Step#DOWNGRADE}; the conversion itself runs while the body is sent ({@link SevenBitBody}), one chunk at a
 * time on the event loop, as the dot-stuffing does, with no temporary copy to write, fsync or remove. Converting
 * when the route is chosen (on the routing stage's temporary copy) was the other choice; it was not taken because
 * the route does not know what an upstream offers until a connection has said EHLO, and the route's upstreams may
 * differ (one with 8BITMIME should get the message unchanged). Only messages with 8-bit bytes going to an upstream
 * without 8BITMIME pay for the two extra reads: a 7-bit message, or an upstream with 8BITMIME, never reaches this
 * class, so the path of every other message allocates nothing more than before.
 *
 * @param refusal        why the message cannot be converted, or null
 * @param eightBitLeaves the leaf parts (in order) with 8-bit bytes, for the converting pass
 * @param notUtf8Leaves  those whose 8-bit bytes are not UTF-8
 * @param size           the size of the converted message (before dot-stuffing)
 */
record SevenBitDowngrade(String refusal, BitSet eightBitLeaves, BitSet notUtf8Leaves, long size) {

    /** Plans the conversion of {@code body}. */
    static SevenBitDowngrade plan(Body body) throws IOException {
        byte[] buf = new byte[64 * 1024];
        BitSet eightBit = new BitSet();
        BitSet notUtf8 = new BitSet();
        SevenBitConverter analyse = SevenBitConverter.analyse(eightBit, notUtf8);
        pass(body, buf, analyse);
        if (analyse.refusal() != null) {
            return new SevenBitDowngrade(analyse.refusal(), eightBit, notUtf8, -1);
        }
        long[] size = new long[1];
        SevenBitConverter count = SevenBitConverter.convert(new SevenBitConverter.Sink() {
            @Override
            public void write(byte[] b, int off, int len) {
                size[0] += len;
            }

            @Override
            public void write(int b) {
                size[0]++;
            }
        }, eightBit, notUtf8);
        pass(body, buf, count);
        return new SevenBitDowngrade(count.refusal(), eightBit, notUtf8, size[0]);
    }

    /** A converter for sending the message as this plan says. */
    SevenBitConverter converter(SevenBitConverter.Sink out) {
        return SevenBitConverter.convert(out, eightBitLeaves, notUtf8Leaves);
    }

    /** Runs {@code body} through {@code converter}, to its end or its refusal. */
    static void pass(Body body, byte[] buf, SevenBitConverter converter) throws IOException {
        try (InputStream in = body.open()) {
            int n;
            while ((n = in.read(buf)) > 0 && converter.refusal() == null) {
                converter.write(buf, 0, n);
            }
        }
        converter.finish();
    }
}
