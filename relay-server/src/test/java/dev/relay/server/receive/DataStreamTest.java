package dev.relay.server.receive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DataStreamTest {

    private static BufferedInputStream session(String wire) {
        return new BufferedInputStream(new ByteArrayInputStream(wire.getBytes(StandardCharsets.ISO_8859_1)), 8192);
    }

    private static String readAll(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
    }

    private static String rest(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
    }

    @Test
    void pipelinedCommandsAfterTheDataStayInTheSessionsStream() throws IOException {
        BufferedInputStream wire = session("Subject: a\r\n\r\nbody\r\n.\r\nMAIL FROM:<b@example.com>\r\nRCPT TO:<c@x>\r\n");
        DataStream data = new DataStream(wire);
        assertThat(readAll(data)).isEqualTo("Subject: a\r\n\r\nbody\r\n");
        assertThat(data.read()).isEqualTo(-1);
        assertThat(rest(wire)).isEqualTo("MAIL FROM:<b@example.com>\r\nRCPT TO:<c@x>\r\n");
    }

    @Test
    void stuffedDotsAreRemovedAndBareLineEndingsNormalised() throws IOException {
        DataStream data = new DataStream(session("..leading\r\nbare\nlf\rcr\r\n.\r\nQUIT\r\n"));
        assertThat(readAll(data)).isEqualTo(".leading\r\nbare\r\nlf\r\ncr\r\n");
        assertThat(data.hadBareLineEndings()).isTrue();
        assertThat(data.bytes()).isEqualTo(24);
    }

    @Test
    void smugglingVariantsDoNotEndTheData() throws IOException {
        BufferedInputStream wire = session("a\n.\nMAIL FROM:<x@y>\r\nb\r\n.\rc\r\n.\r\nQUIT\r\n");
        DataStream data = new DataStream(wire);
        // after a bare LF no line starts that could end the data, so its dot is content, kept as is
        assertThat(readAll(data)).isEqualTo("a\r\n.\r\nMAIL FROM:<x@y>\r\nb\r\n\r\nc\r\n");
        assertThat(rest(wire)).isEqualTo("QUIT\r\n");
    }

    @Test
    void theEndMarkerSplitAcrossBlocksIsFound() throws IOException {
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < 2000; i++) {
            body.append("line ").append(i).append("\r\n");
        }
        String wire = body + ".\r\nRSET\r\n";
        // a connection that delivers at most 7 bytes per read
        InputStream trickle = new FilterInputStream(new ByteArrayInputStream(wire.getBytes(StandardCharsets.ISO_8859_1))) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return super.read(b, off, Math.min(len, 7));
            }
        };
        BufferedInputStream session = new BufferedInputStream(trickle, 8192);
        DataStream data = new DataStream(session);
        assertThat(readAll(data)).isEqualTo(body.toString());
        assertThat(rest(session)).isEqualTo("RSET\r\n");
    }

    @Test
    void aStreamWithoutMarkIsReadOneByteAtATime() throws IOException {
        InputStream noMark = new FilterInputStream(new ByteArrayInputStream("x\r\n.\r\nQUIT\r\n".getBytes(StandardCharsets.ISO_8859_1))) {
            @Override
            public boolean markSupported() {
                return false;
            }
        };
        DataStream data = new DataStream(noMark);
        assertThat(readAll(data)).isEqualTo("x\r\n");
        assertThat(rest(noMark)).isEqualTo("QUIT\r\n");
    }

    @Test
    void aTooLongLineFailsOnceAndTheRestCanBeDrained() throws IOException {
        BufferedInputStream wire = session("a".repeat(1200) + "\r\n.\r\nNOOP\r\n");
        DataStream data = new DataStream(wire);
        assertThatThrownBy(() -> data.readAllBytes()).isInstanceOf(LineTooLongException.class);
        data.drain();
        assertThat(rest(wire)).isEqualTo("NOOP\r\n");
    }

    @Test
    void aConnectionClosedBeforeTheEndIsAnError() {
        DataStream data = new DataStream(session("partial\r\n"));
        assertThatThrownBy(() -> data.readAllBytes()).isInstanceOf(EOFException.class);
    }
}
