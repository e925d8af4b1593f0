package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.server.receive.InboundListener;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The session deadlines over real sockets: what the data deadline keeps in memory, that one client's stuck socket
 * does not stop the deadlines of the others, that a write to a client that never reads is bounded, and that a TLS
 * handshake is bounded as a whole. One relay for the
 * class.
 */
class InboundDeadlinesTest {
    static final String TIMEOUT_REPLY = "421 4.4.2 Timeout: the message data took too long, closing connection";

    @TempDir
    static Path dir;
    static InboundSubmissionTest relay;

    @BeforeAll
    static void start() throws Exception {
        relay = new InboundSubmissionTest();
        relay.dir = dir;
        relay.startRelay("data-timeout: 20s, idle-timeout: 3s, max-messages-per-connection: 1000");
    }

    @AfterAll
    static void stop() {
        relay.stopRelay();
    }

    static InboundListener listener(String name) {
        return relay.relay.listeners().stream().filter(l -> l.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void noDataDeadlineStaysInMemoryAfterItsMessageEnds() throws Exception {
        int messages = 200;
        try (RawSmtp c = relay.tlsSession()) {
            assertThat(c.authPlain("narrow", "narrow-pw")).startsWith("235");
            for (int i = 0; i < messages; i++) {
                c.send("MAIL FROM:<m" + i + "@example.com>\r\nRCPT TO:<a@example.com>\r\nDATA\r\n");
                assertThat(c.reply()).startsWith("250");
                assertThat(c.reply()).startsWith("250");
                assertThat(c.reply()).startsWith("354");
                assertThat(c.command("Subject: " + i + "\r\n\r\nbody\r\n.")).startsWith("250");
            }
            // at once, well within the data timeout: a deadline kept until its delay runs out would still count
            assertThat(listener("submission").dataDeadlinesPending()).as("data deadlines still held").isZero();
        }
    }

    @Test
    void aClientThatStopsReadingDoesNotDelayTheDataDeadlineOfAnother() throws Exception {
        double before = relay.count("relay.inbound.refused", "reason", "data_timeout");
        double writesBefore = relay.count("relay.inbound.refused", "reason", "write_timeout");
        // A: in DATA, then makes the relay write (TLS 1.3 key updates, each answered by the relay's own) until the
        // relay's socket to it is full, and never reads: every write to A blocks from then on
        RawSmtp a = new RawSmtp(InboundSubmissionTest.HOST, relay.starttls, false, 1024);
        AtomicInteger keyUpdates = new AtomicInteger();
        try {
            a.command("EHLO client.test");
            a.startTls();
            a.command("EHLO client.test");
            assertThat(a.authPlain("narrow", "narrow-pw")).startsWith("235");
            a.command("MAIL FROM:<stuck@example.com>");
            a.command("RCPT TO:<a@example.com>");
            assertThat(a.command("DATA")).startsWith("354");
            a.send("Subject: stuck\r\n\r\n");
            SSLSocket tls = (SSLSocket) a.socket();
            assertThat(tls.getSession().getProtocol()).isEqualTo("TLSv1.3");
            AtomicReference<Exception> stopped = new AtomicReference<>();
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    while (true) {
                        tls.startHandshake(); // TLS 1.3: a KeyUpdate that asks the relay for one back
                        keyUpdates.incrementAndGet();
                    }
                } catch (Exception e) {
                    stopped.set(e); // the relay closed the connection
                }
            });
            // the relay stopped reading A, stuck writing to it: A's own sends block in turn (for a whole second)
            AtomicInteger seen = new AtomicInteger(-1);
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() -> {
                assertThat(stopped.get()).as("A's key updates failed").isNull();
                return seen.getAndSet(keyUpdates.get()) == keyUpdates.get();
            });
            // B: in DATA after A, so its deadline comes after A's; it trickles and reads
            try (RawSmtp b = relay.tlsSession()) {
                b.socket().setSoTimeout(30_000);
                assertThat(b.authPlain("narrow", "narrow-pw")).startsWith("235");
                b.command("MAIL FROM:<slow@example.com>");
                b.command("RCPT TO:<a@example.com>");
                assertThat(b.command("DATA")).startsWith("354");
                long start = System.nanoTime();
                b.send("Subject: slow\r\n\r\nfirst line\r\n");
                assertThat(b.reply()).isEqualTo(TIMEOUT_REPLY);
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofSeconds(19),
                        Duration.ofSeconds(25));
            }
            // and A, which never reads, is closed too: its socket is cut after a bounded try to write the 421
            await().atMost(Duration.ofSeconds(20)).until(() -> listener("submission").openSessions() == 0);
        } finally {
            a.abort();
        }
        // B by its data deadline; A by its data deadline or, stuck writing for the idle timeout before that, by the
        // write deadline (which of the two comes first depends on how long A's socket took to fill)
        double dataTimeouts = relay.count("relay.inbound.refused", "reason", "data_timeout") - before;
        double writeTimeouts = relay.count("relay.inbound.refused", "reason", "write_timeout") - writesBefore;
        assertThat(dataTimeouts).isGreaterThanOrEqualTo(1);
        assertThat(dataTimeouts + writeTimeouts).isEqualTo(2);
    }

    /**
     * A client pipelines a burst and never reads a reply: the relay's session thread blocks writing inside a
     * running command (exempt from the idle timeout), which before held the session and its connection slot until
     * the client went away. The sidecar listener (plain, trusted) lets the burst run inside a transaction, where
     * commands are not counted against {@code max-commands-before-mail}.
     */
    @Test
    void aClientThatPipelinesABurstAndNeverReadsIsCutWhenTheRelaysWriteStallsForTheIdleTimeout() throws Exception {
        double before = relay.count("relay.inbound.refused", "reason", "write_timeout");
        RawSmtp c = new RawSmtp("::1", relay.ipv6, false, 1024); // a small receive buffer: the relay stalls soon
        try {
            assertThat(c.command("EHLO client.test")).startsWith("250");
            assertThat(c.command("MAIL FROM:<burst@example.com>")).startsWith("250");
            String burst = "VRFY someone\r\n".repeat(1024); // each reply is five times the command's size
            AtomicReference<Exception> stopped = new AtomicReference<>();
            long start = System.nanoTime();
            Thread writer = Thread.ofPlatform().daemon().start(() -> {
                try {
                    while (true) {
                        c.send(burst); // blocks once the relay stops reading, stuck writing to us
                    }
                } catch (Exception e) {
                    stopped.set(e); // the relay closed the connection
                }
            });
            await().atMost(Duration.ofSeconds(15)).until(() -> listener("sidecar").openSessions() == 0);
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(took).as("no sooner than the idle timeout (3 s) of a stalled write")
                    .isGreaterThanOrEqualTo(Duration.ofSeconds(3));
            writer.join(Duration.ofSeconds(10));
            assertThat(stopped.get()).as("the client's own blocked send ends: the connection is gone").isNotNull();
        } finally {
            c.abort();
        }
        assertThat(relay.count("relay.inbound.refused", "reason", "write_timeout")).isEqualTo(before + 1);
    }

    @Test
    void aStartTlsHandshakeTrickledByteByByteIsCutAtTheHandshakeDeadline() throws Exception {
        try (RawSmtp c = new RawSmtp(InboundSubmissionTest.HOST, relay.starttls, false)) {
            c.command("EHLO client.test");
            assertThat(c.command("STARTTLS")).startsWith("220");
            c.socket().setSoTimeout(30_000);
            assertCutWhileTrickling(c.socket());
        }
    }

    @Test
    void anImplicitTlsHandshakeTrickledByteByByteIsCutAtTheHandshakeDeadline() throws Exception {
        try (Socket c = new Socket(InboundSubmissionTest.HOST, relay.implicit)) {
            c.setSoTimeout(30_000);
            assertCutWhileTrickling(c);
        }
    }

    /**
     * Sends a TLS handshake record one byte every 200 ms (it never ends: the record is long) and expects the relay
     * to close the connection at the handshake deadline (the idle timeout here, 3 s) while another client is served.
     */
    private static void assertCutWhileTrickling(Socket socket) throws Exception {
        byte[] hello = new byte[5 + 512];
        hello[0] = 0x16; // handshake
        hello[1] = 0x03;
        hello[2] = 0x01;
        hello[3] = 0x02; // 512 bytes of record: longer than the test
        hello[5] = 0x01; // ClientHello
        Thread trickler = Thread.ofPlatform().daemon().start(() -> {
            try {
                for (byte b : hello) {
                    socket.getOutputStream().write(b);
                    socket.getOutputStream().flush();
                    Thread.sleep(200);
                }
            } catch (Exception e) {
                // closed by the relay
            }
        });
        long start = System.nanoTime();
        // the listener keeps serving others meanwhile
        try (RawSmtp other = new RawSmtp(InboundSubmissionTest.HOST, relay.starttls, false)) {
            assertThat(other.greeting).startsWith("220");
            assertThat(other.command("EHLO client.test")).startsWith("250");
        }
        int read;
        try {
            read = socket.getInputStream().read();
        } catch (SocketException e) {
            read = -1; // reset: closed too
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(read).as("the connection is closed").isEqualTo(-1);
        assertThat(took).isBetween(Duration.ofMillis(2500), Duration.ofSeconds(6));
        trickler.interrupt();
    }
}
