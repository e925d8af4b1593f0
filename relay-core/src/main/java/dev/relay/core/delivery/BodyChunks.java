package dev.relay.core.delivery;

import dev.relay.core.spool.Body;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.smtp.SmtpContent;
import io.netty.handler.stream.ChunkedInput;
import java.io.IOException;
import java.io.InputStream;

/**
 * What the two DATA contents ({@link DotStuffedBody} as it is, {@link SevenBitBody} converted) share: the message
 * read from the spool one piece at a time into one buffer, never whole in memory, and a {@link DotStuffer}.
 */
abstract class BodyChunks implements ChunkedInput<SmtpContent> {
    static final int CHUNK = 64 * 1024;

    final long length;
    final DotStuffer stuffer = new DotStuffer();
    final byte[] in;
    long read;
    boolean ended;
    private final InputStream file;

    /** {@code body}, of {@code length} bytes as {@link BodyScan} counted them (it ends where either ends). */
    BodyChunks(Body body, long length) throws IOException {
        this.file = body.open();
        this.length = length;
        this.in = new byte[(int) Math.max(1, Math.min(CHUNK, length))]; // a 2 KiB message: not 64 KiB garbage
    }

    /** Reads the next piece of the message into {@link #in}: how many bytes, or -1 at its end. */
    final int next() throws IOException {
        int n = read < length ? file.read(in, 0, (int) Math.min(in.length, length - read)) : -1;
        if (n > 0) {
            read += n;
        }
        return n;
    }

    @Override
    public boolean isEndOfInput() {
        return ended;
    }

    @Override
    public void close() throws IOException {
        file.close();
    }

    @Deprecated
    @Override
    public SmtpContent readChunk(ChannelHandlerContext ctx) throws Exception {
        return readChunk(ctx.alloc());
    }

    @Override
    public long progress() {
        return read;
    }
}
