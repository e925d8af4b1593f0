package dev.relay.core.delivery;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.smtp.DefaultLastSmtpContent;
import io.netty.handler.codec.smtp.DefaultSmtpContent;
import io.netty.handler.codec.smtp.SmtpContent;
import dev.relay.core.spool.Body;
import java.io.IOException;

/**
 * The message file as DATA content, read and dot-stuffed one chunk at a time for Netty's ChunkedWriteHandler,
 * so the whole message is never in memory and the writes follow the channel's writability.
 *
 * <p>The last chunk is a {@link DefaultLastSmtpContent} without the terminating {@code .CRLF}: the
 * {@code SmtpRequestEncoder} appends that itself (and so leaves its "content expected" state).
 */
final class DotStuffedBody extends BodyChunks {
    /** {@code body}, of {@code length} bytes as {@link BodyScan} counted them (it ends where either ends). */
    DotStuffedBody(Body body, long length) throws IOException {
        super(body, length);
    }

    @Override
    public SmtpContent readChunk(ByteBufAllocator allocator) throws Exception {
        if (ended) {
            return null;
        }
        int n = next();
        if (n > 0) {
            return new DefaultSmtpContent(encode(allocator, n));
        }
        ended = true;
        return new DefaultLastSmtpContent(encode(allocator, -1));
    }

    /** Encodes {@code n} input bytes, or with {@code n < 0} the ending, straight into a heap buffer's array. */
    private ByteBuf encode(ByteBufAllocator allocator, int n) {
        int max = n < 0 ? DotStuffer.maxFinishLength() : DotStuffer.maxEncodedLength(n);
        ByteBuf buf = allocator.heapBuffer(max);
        byte[] target = buf.hasArray() ? buf.array() : new byte[max];
        int off = buf.hasArray() ? buf.arrayOffset() + buf.writerIndex() : 0;
        // the encoder writes the final ".\r\n" after a LastSmtpContent itself
        int len = n < 0 ? stuffer.finish(target, off) - 3 : stuffer.encode(in, 0, n, target, off);
        if (buf.hasArray()) {
            buf.writerIndex(buf.writerIndex() + len);
        } else {
            buf.writeBytes(target, 0, len);
        }
        return buf;
    }

    @Override
    public long length() {
        return length;
    }
}
