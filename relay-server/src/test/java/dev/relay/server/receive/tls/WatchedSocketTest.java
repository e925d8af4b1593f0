package dev.relay.server.receive.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class WatchedSocketTest {
    @Test
    void aWriteToAPeerThatDoesNotReadIsSeenBlockedSinceItBeganByTheClockItIsGiven() throws Exception {
        AtomicLong clock = new AtomicLong(1_000);
        try (ListeningSocket listening = new ListeningSocket(null, clock::get);
             Socket peer = new Socket()) {
            listening.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
            peer.setReceiveBufferSize(1024);
            peer.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), listening.getLocalPort()));
            WatchedSocket watched = (WatchedSocket) listening.accept(); // every accepted connection is watched
            assertThat(watched.writeBlockedFor(5_000)).as("no write yet").isZero();
            AtomicReference<Exception> ended = new AtomicReference<>();
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    watched.getOutputStream().write(new byte[64 << 20]); // far more than both buffers hold
                } catch (Exception e) {
                    ended.set(e);
                }
            });
            // the peer reads nothing: the write blocks in one of its pieces. The clock ticks at each poll, and a piece
            // notes the time it began: blocked for 50 ticks means no piece began meanwhile (robust on a busy machine,
            // where the buffers may still be filling at the first polls)
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(10))
                    .until(() -> watched.writeBlockedFor(clock.incrementAndGet()) >= 50);
            long blocked = watched.writeBlockedFor(clock.get());
            clock.addAndGet(3_000);
            await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
                    .until(() -> watched.writeBlockedFor(clock.get()) == blocked + 3_000);
            watched.close(); // what the sweeper does: the blocked write ends with an error
            writer.join(Duration.ofSeconds(5));
            assertThat(ended.get()).isNotNull();
            assertThat(watched.writeBlockedFor(clock.get())).as("no write in progress any more").isZero();
        }
    }
}
