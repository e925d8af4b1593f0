package dev.relay.core.delivery;

import dev.relay.core.spool.Body;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.smtp.DefaultLastSmtpContent;
import io.netty.handler.codec.smtp.DefaultSmtpContent;
import io.netty.handler.codec.smtp.SmtpContent;
import java.io.IOException;
import java.util.Arrays;

/**
 * The message file as DATA content converted to 7 bit ({@link SevenBitDowngrade}): read one chunk at a time, run
 * through the {@link SevenBitConverter}, then through the {@link DotStuffer}, as {@link DotStuffedBody} does for
 * the message as it is. Memory stays bounded: one input chunk, its converted bytes (at most about three times as
 * many, plus a header section) and the converter's state.
 *
 * <p>If the message no longer converts as planned (it changed on disk), the transfer fails with an exception: the
 * connection is closed without the end-of-data line, so nothing half-converted is ever delivered.
 */
final class SevenBitBody extends BodyChunks implements SevenBitConverter.Sink {
    private final long converted;
    private final SevenBitConverter converter;
    private byte[] out = new byte[8 * 1024];
    private int outLen;
    private byte[] stuffed = new byte[0];

    SevenBitBody(Body body, long length, SevenBitDowngrade plan) throws IOException {
        super(body, length);
        this.converted = plan.size();
        this.converter = plan.converter(this);
    }

    @Override
    public SmtpContent readChunk(ByteBufAllocator allocator) throws Exception {
        if (ended) {
            return null;
        }
        outLen = 0;
        int n = next();
        if (n > 0) {
            converter.write(in, 0, n);
        } else {
            converter.finish();
            ended = true;
        }
        if (converter.refusal() != null) {
            throw new IOException("the message no longer converts to 7 bit: " + converter.refusal());
        }
        int max = DotStuffer.maxEncodedLength(outLen) + DotStuffer.maxFinishLength();
        if (stuffed.length < max) {
            stuffed = new byte[max];
        }
        int len = stuffer.encode(out, 0, outLen, stuffed, 0);
        if (ended) {
            len += stuffer.finish(stuffed, len) - 3; // the encoder writes the final ".\r\n" after a LastSmtpContent
        }
        ByteBuf buf = allocator.heapBuffer(len);
        buf.writeBytes(stuffed, 0, len);
        return ended ? new DefaultLastSmtpContent(buf) : new DefaultSmtpContent(buf);
    }

    @Override
    public void write(byte[] b, int off, int len) {
        ensure(len);
        System.arraycopy(b, off, out, outLen, len);
        outLen += len;
    }

    @Override
    public void write(int b) {
        ensure(1);
        out[outLen++] = (byte) b;
    }

    private void ensure(int more) {
        if (outLen + more > out.length) {
            out = Arrays.copyOf(out, Math.max(out.length * 2, outLen + more));
        }
    }

    @Override
    public long length() {
        return converted;
    }
}
