package dev.relay.server.receive.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class WatchedSocketTest {
    @Test
    void aWriteToAPeerThatDoesNotReadIsSeenBlockedSinceItBeganByTheClockItIsGiven() throws Exception {
        AtomicLong clock = new AtomicLong(1_000);
        try (ServerSocket listening = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket peer = new Socket()) {
            peer.setReceiveBufferSize(1024);
            peer.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), listening.getLocalPort()));
            WatchedSocket watched = new WatchedSocket(listening.accept(), clock::get);
            assertThat(watched.writeBlockedFor(5_000)).as("no write yet").isZero();
            AtomicReference<Exception> ended = new AtomicReference<>();
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    watched.getOutputStream().write(new byte[64 << 20]); // far more than both buffers hold
                } catch (Exception e) {
                    ended.set(e);
                }
            });
            // the peer reads nothing: the write blocks in one of its pieces, begun at clock 1,000 or later
            await().atMost(Duration.ofSeconds(10)).until(() -> watched.writeBlockedFor(clock.get() + 1) > 0);
            long since = clock.get();
            clock.set(since + 3_000);
            await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
                    .until(() -> watched.writeBlockedFor(clock.get()) == 3_000);
            watched.close(); // what the sweeper does: the blocked write ends with an error
            writer.join(Duration.ofSeconds(5));
            assertThat(ended.get()).isNotNull();
            assertThat(watched.writeBlockedFor(clock.get())).as("no write in progress any more").isZero();
        }
    }
}
