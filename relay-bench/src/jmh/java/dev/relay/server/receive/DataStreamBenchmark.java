package dev.relay.server.receive;

import dev.relay.bench.jmh.ByteCounter;
import dev.relay.bench.jmh.Messages;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Receiving DATA: {@link DataStream} over the wire form of a message (dot-stuffed, ending in {@code .CRLF}),
 * read the way the spool reads it (64 KiB buffer) until its end. The connection is an in-memory stream behind an
 * 8 KiB {@link BufferedInputStream}, like a socket's; {@code read:bytes} is wire bytes per second.
 *
 * <p>In the package of the class it measures (package-private); uses only its constructor and the InputStream
 * methods.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class DataStreamBenchmark {
    @Param({"2048", "1048576"})
    public int size;

    private byte[] wire;
    private final byte[] buf = new byte[64 * 1024];

    @Setup
    public void setUp() throws IOException {
        wire = Messages.wire(Messages.content(size));
        long n = drain(new DataStream(connection()));
        if (n != size) { // the benchmark must read what the relay would store
            throw new IllegalStateException("DataStream returned " + n + " bytes of a " + size + "-byte message");
        }
    }

    @Benchmark
    public long read(ByteCounter counter) throws IOException {
        long n = drain(new DataStream(connection()));
        counter.bytes += wire.length;
        return n;
    }

    private InputStream connection() {
        return new BufferedInputStream(new ByteArrayInputStream(wire), 8192);
    }

    private long drain(InputStream data) throws IOException {
        long total = 0;
        int n;
        while ((n = data.read(buf)) >= 0) {
            total += n;
        }
        return total;
    }
}
