package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.ConfigLoader;
import dev.relay.server.RelayServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Overload from several loopback addresses (127.0.0.x, all loopback on Linux): one address opening more
 * connections than {@code limits.max-connections-per-client}, a slowloris client sending one byte a second, a
 * client that sends commands and never reads the replies, and connections up to {@code limits.max-connections};
 * meanwhile a well-behaved client from another address submits messages and its latency is measured.
 */
class OverloadTest {
    @TempDir
    Path dir;

    final List<Socket> sockets = new ArrayList<>();

    Socket connect(String from, int port) throws Exception {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(from, 0));
        s.connect(new InetSocketAddress(Loopback.HOST, port), 5000);
        s.setSoTimeout(10_000);
        sockets.add(s);
        return s;
    }

    static String line(InputStream in) throws Exception {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (c != '\r') {
                sb.append((char) c);
            }
        }
        return c < 0 && sb.isEmpty() ? null : sb.toString();
    }

    @Test
    void floodsSlowlorisAndNonReadersDoNotStopAWellBehavedClient() throws Exception {
        int port = Loopback.freePort();
        String yaml = """
                listeners:
                  - { name: local, bind: "127.0.0.1:%d", tls: none }
                auth: { trusted-networks: ["127.0.0.0/8"] }
                spool: { dir: "%s", min-free-space: 0 }
                queue: { min-backoff: 1h }
                upstreams:
                  - { name: nowhere, url: "smtp://127.0.0.1:%d", tls: none }
                admin: { bind: "127.0.0.1:%d" }
                limits: { max-connections: 12, max-connections-per-client: 4, idle-timeout: 2s }
                """.formatted(port, dir.resolve("spool"), Loopback.freePort(), Loopback.freePort());
        AtomicBoolean stop = new AtomicBoolean();
        try (RelayServer relay = RelayServer.start(ConfigLoader.load(
                Files.writeString(dir.resolve("relay.yaml"), yaml), Map.of()).config())) {
            // one address, more connections than its limit: the extra ones get 421 at once
            for (int i = 0; i < 6; i++) {
                long t0 = System.nanoTime();
                String greeting = line(connect("127.0.0.2", port).getInputStream());
                if (i < 4) {
                    assertThat(greeting).startsWith("220");
                } else {
                    assertThat(greeting).isEqualTo("421 4.7.0 Too many connections from your address, try again "
                            + "later");
                    assertThat((System.nanoTime() - t0) / 1_000_000).as("refused at once").isLessThan(2000);
                }
            }
            // slowloris: one byte a second, for ever
            Socket slow = connect("127.0.0.3", port);
            Thread.ofVirtual().start(() -> {
                byte[] cmd = "NOOP\r\n".getBytes(StandardCharsets.US_ASCII);
                try {
                    OutputStream o = slow.getOutputStream();
                    for (int i = 0; !stop.get(); i++) {
                        o.write(cmd[i % cmd.length]);
                        o.flush();
                        Thread.sleep(1000);
                    }
                } catch (Exception e) {
                    // the relay closed it
                }
            });
            // never reads: pipelines a megabyte of NOOPs, its replies pile up in the socket buffers
            Socket deaf = connect("127.0.0.4", port);
            Thread.ofVirtual().start(() -> {
                byte[] noops = "NOOP\r\n".repeat(10_000).getBytes(StandardCharsets.US_ASCII);
                try {
                    OutputStream o = deaf.getOutputStream();
                    for (int i = 0; i < 20 && !stop.get(); i++) {
                        o.write(noops);
                    }
                } catch (Exception e) {
                    // the relay closed it
                }
            });
            // the well-behaved client, from its own address, one connection per message
            List<Long> latencies = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                long t0 = System.nanoTime();
                try (Socket s = connect("127.0.0.5", port)) {
                    InputStream in = s.getInputStream();
                    OutputStream out = s.getOutputStream();
                    assertThat(line(in)).startsWith("220");
                    out.write(("EHLO good.client\r\nMAIL FROM:<app@example.com>\r\nRCPT TO:<b@example.org>\r\n"
                            + "DATA\r\n").getBytes(StandardCharsets.US_ASCII));
                    String l;
                    while (!(l = line(in)).startsWith("354")) {
                        assertThat(l).startsWith("250");
                    }
                    out.write(("Subject: good " + i + "\r\n\r\nhello\r\n.\r\nQUIT\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                    assertThat(line(in)).startsWith("250 2.0.0 Ok: queued as");
                }
                latencies.add((System.nanoTime() - t0) / 1_000_000);
            }
            latencies.sort(null);
            System.out.printf("overload: well-behaved client, 20 messages: median %d ms, max %d ms%n",
                    latencies.get(10), latencies.get(19));
            assertThat(latencies.get(19)).as("max latency (ms) under attack").isLessThan(3000);
            // up to the total limit: then 421 at once, and the relay still answers its earlier clients
            String refused = null;
            for (int a = 6; a < 12 && refused == null; a++) {
                for (int i = 0; i < 4 && refused == null; i++) {
                    String g = line(connect("127.0.0." + a, port).getInputStream());
                    if (!g.startsWith("220")) {
                        refused = g;
                    }
                }
            }
            assertThat(refused).isEqualTo("421 4.7.0 Too many connections, try again later");
            // the idle flood connections are closed by the idle timeout, freeing their slots
            InputStream idle = sockets.get(0).getInputStream();
            String last;
            do {
                last = line(idle);
            } while (last != null && !last.startsWith("421"));
            assertThat(relay.queue().queued()).isEqualTo(20);
        } finally {
            stop.set(true);
            for (Socket s : sockets) {
                s.close();
            }
        }
    }
}
