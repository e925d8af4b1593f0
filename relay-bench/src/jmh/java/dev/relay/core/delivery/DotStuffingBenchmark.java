package dev.relay.core.delivery;

import dev.relay.bench.jmh.ByteCounter;
import dev.relay.bench.jmh.Messages;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.smtp.SmtpContent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Sending DATA: dot-stuffing the stored message. {@code stuffer} is {@link DotStuffer} alone over the content in
 * 64 KiB chunks (CPU only); {@code body} is {@link DotStuffedBody}, what delivery hands to Netty: it reads the
 * file (from the page cache here) and encodes each chunk into a buffer of the default allocator. The
 * {@code :bytes} counters are content bytes per second.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class DotStuffingBenchmark {
    private static final int CHUNK = 64 * 1024;

    @Param({"2048", "1048576"})
    public int size;

    private byte[] content;
    private final byte[] out = new byte[DotStuffer.maxEncodedLength(CHUNK) + DotStuffer.maxFinishLength()];
    private Path file;

    @Setup
    public void setUp() throws IOException {
        content = Messages.content(size);
        file = Files.createTempFile("jmh-dotstuff-", ".eml");
        Files.write(file, content);
        long expected = Messages.wire(content).length;
        if (stuff() != expected) {
            throw new IllegalStateException("DotStuffer wrote " + stuff() + " bytes, wanted " + expected);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        Files.deleteIfExists(file);
    }

    @Benchmark
    public long stuffer(ByteCounter counter) {
        counter.bytes += content.length;
        return stuff();
    }

    @Benchmark
    public long body(ByteCounter counter) throws Exception {
        long n = 0;
        DotStuffedBody body = new DotStuffedBody(file, Files.size(file));
        try {
            while (!body.isEndOfInput()) {
                SmtpContent chunk = body.readChunk(ByteBufAllocator.DEFAULT);
                n += chunk.content().readableBytes();
                chunk.release();
            }
        } finally {
            body.close();
        }
        counter.bytes += content.length;
        return n;
    }

    private long stuff() {
        DotStuffer stuffer = new DotStuffer();
        long n = 0;
        for (int off = 0; off < content.length; off += CHUNK) {
            n += stuffer.encode(content, off, Math.min(CHUNK, content.length - off), out, 0);
        }
        return n + stuffer.finish(out, 0);
    }
}
