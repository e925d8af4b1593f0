package dev.relay.server.receive.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class ReplyBatchingTest {
    /** The socket's output: every write call as one string (one write is one TLS record on a TLS socket). */
    static final class Writes extends OutputStream {
        final List<String> writes = new CopyOnWriteArrayList<>();
        int flushes;
        boolean closed;

        @Override
        public void write(int b) {
            writes.add(String.valueOf((char) b));
        }

        @Override
        public void write(byte[] b, int off, int len) {
            writes.add(new String(b, off, len, StandardCharsets.US_ASCII));
        }

        @Override
        public void flush() {
            flushes++;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private static InputStream client(String bytes) {
        return new ByteArrayInputStream(bytes.getBytes(StandardCharsets.US_ASCII));
    }

    private static void reply(OutputStream out, String line) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush(); // as subethasmtp's sendResponse does after every reply
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) != -1 && c != '\n') {
            b.append((char) c);
        }
        return b.toString().strip();
    }

    @Test
    void repliesToAPipelinedGroupLeaveInOneWriteWhenTheSessionWouldWaitForMore() throws IOException {
        Writes socket = new Writes();
        ReplyBatching rb = new ReplyBatching(client("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"), socket);
        InputStream in = rb.input();
        OutputStream out = rb.output();

        assertThat(readLine(in)).isEqualTo("MAIL FROM:<a@x>");
        reply(out, "250 2.1.0 Ok");
        assertThat(socket.writes).as("the client has sent more: the reply waits").isEmpty();
        assertThat(readLine(in)).isEqualTo("RCPT TO:<b@y>");
        reply(out, "250 2.1.5 Ok");
        assertThat(readLine(in)).isEqualTo("DATA");
        reply(out, "354 End data with <CR><LF>.<CR><LF>");
        assertThat(socket.writes).isEmpty();

        assertThat(in.read()).as("nothing more from the client").isEqualTo(-1);
        assertThat(socket.writes).as("sent before the read that waits, together")
                .containsExactly("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
        assertThat(socket.flushes).isEqualTo(1);
    }

    @Test
    void aReplyFromAnotherThreadLeavesAtOnceWithWhatWasHeldBeforeIt() throws Exception {
        Writes socket = new Writes();
        ReplyBatching rb = new ReplyBatching(client("NOOP\r\nNOOP\r\n"), socket);
        assertThat(readLine(rb.input())).isEqualTo("NOOP");
        reply(rb.output(), "250 2.0.0 Ok"); // held: the session thread has more to read
        Thread sweeper = Thread.ofVirtual().start(() -> {
            try {
                reply(rb.output(), "421 4.4.2 Idle timeout");
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        sweeper.join();
        assertThat(String.join("", socket.writes)).isEqualTo("250 2.0.0 Ok\r\n421 4.4.2 Idle timeout\r\n");
    }

    @Test
    void beforeTheSessionFirstReadsEveryReplyLeavesAtOnce() throws IOException {
        Writes socket = new Writes();
        ReplyBatching rb = new ReplyBatching(client("EHLO x\r\n"), socket);
        reply(rb.output(), "220 relay ESMTP"); // the greeting, written before any read
        assertThat(socket.writes).containsExactly("220 relay ESMTP\r\n");
    }

    @Test
    void closingSendsWhatIsHeldThenCloses() throws IOException {
        Writes socket = new Writes();
        ReplyBatching rb = new ReplyBatching(client("QUIT\r\nmore\r\n"), socket);
        assertThat(readLine(rb.input())).isEqualTo("QUIT");
        reply(rb.output(), "221 2.0.0 Bye");
        assertThat(socket.writes).isEmpty();
        rb.output().close();
        assertThat(socket.writes).containsExactly("221 2.0.0 Bye\r\n");
        assertThat(socket.closed).isTrue();
    }

    @Test
    void heldRepliesBeyondTheLimitLeaveWithoutWaiting() throws IOException {
        Writes socket = new Writes();
        ReplyBatching rb = new ReplyBatching(client("X\r\nY\r\n"), socket);
        assertThat(readLine(rb.input())).isEqualTo("X");
        String big = "250 " + "x".repeat(ReplyBatching.LIMIT);
        reply(rb.output(), big);
        assertThat(String.join("", socket.writes)).isEqualTo(big + "\r\n");
    }
}
