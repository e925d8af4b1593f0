package dev.relay.server.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Coverage-guided fuzzing of what the receiving side parses from a client: the DATA stream (end-of-data detection,
 * dot-unstuffing, line-ending normalisation, the line limit) against a small reference model, and the
 * MAIL FROM/RCPT TO path and parameter parser. {@code mvn verify} replays the corpus in
 * {@code src/test/resources/dev/relay/server/inbound/InboundParsersFuzzTestInputs/}.
 */
class InboundParsersFuzzTest {

    /**
     * The bytes a client sends after DATA, delivered in pieces of a size the fuzzer picks, through a stream with or
     * without mark support (the first three bytes of the input say how): the content, where the data ends, and what is left for the next command are exactly
     * what the reference model says.
     */
    @FuzzTest(maxDuration = "5s")
    void dataStreamEndsWhereTheReferenceModelSays(byte[] input) throws IOException {
        if (input.length < 3) {
            return;
        }
        // three bytes of settings, then what the client sends
        int piece = 1 + (input[0] & 0xff) * 20;
        boolean markable = (input[1] & 1) == 0;
        int readSize = 1 + (input[2] & 0xff) * 35;
        byte[] wire = Arrays.copyOfRange(input, 3, input.length);
        Model expected = Model.run(wire);

        InputStream source = new Trickle(wire, piece);
        InputStream session = markable ? new BufferedInputStream(source, 8192) : source;
        DataStream stream = new DataStream(session);
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        String outcome;
        byte[] buf = new byte[readSize];
        try {
            int n;
            while ((n = stream.read(buf, 0, buf.length)) != -1) {
                assertThat(n).isPositive();
                content.write(buf, 0, n);
            }
            outcome = "end";
        } catch (LineTooLongException e) {
            outcome = "too long";
            try {
                stream.drain();
                outcome = "too long, drained to the end";
            } catch (EOFException eof) {
                outcome = "too long, then closed";
            }
        } catch (EOFException e) {
            outcome = "closed";
        }
        assertThat(outcome).isEqualTo(expected.outcome);
        if (outcome.equals("end")) {
            assertThat(content.toByteArray()).as("the content").isEqualTo(expected.content.toByteArray());
            assertThat(stream.bytes()).isEqualTo(expected.content.size());
            assertThat(stream.hadBareLineEndings()).isEqualTo(expected.bare);
        }
        if (outcome.equals("end") || outcome.equals("too long, drained to the end")) {
            assertThat(session.readAllBytes()).as("what follows the data is the next command's")
                    .isEqualTo(Arrays.copyOfRange(wire, expected.consumed, wire.length));
        }
    }

    /** MAIL FROM:/RCPT TO: lines: a syntax error (null) or a path and parameters as the line has them. */
    @FuzzTest(maxDuration = "5s")
    void mailAndRcptPathsParseOrAreSyntaxErrors(byte[] input) {
        String line = new String(input, StandardCharsets.UTF_8);
        for (String[] verb : new String[][] {{"MAIL", "FROM:"}, {"RCPT", "TO:"}}) {
            SmtpCommands.Path path = SmtpCommands.Path.parse(line, verb[0], verb[1]);
            if (path == null) {
                continue;
            }
            String afterVerb = line.strip().substring(verb[0].length()).stripLeading();
            assertThat(afterVerb.regionMatches(true, 0, verb[1], 0, verb[1].length())).isTrue();
            if (afterVerb.substring(verb[1].length()).stripLeading().startsWith("<")) {
                assertThat(path.address()).doesNotContain(">");
            } else { // a word without brackets: MailAddress refuses it if it has any ('.<a@b>' did)
                assertThat(path.address()).isNotEmpty().doesNotContain(" ");
            }
            assertThat(line).contains(path.address());
            assertThat(path.params()).allSatisfy(p -> {
                // split at Java's \s (space, tab, ...); 0x1e, whitespace to Character.isWhitespace, stays in
                assertThat(p).isNotEmpty().doesNotContain(" ", "\t");
                assertThat(line).contains(p);
            });
        }
        String trace = SmtpCommands.traceName(line);
        assertThat(trace.length()).isLessThanOrEqualTo(SmtpCommands.MAX_TRACE_NAME);
        assertThat(trace).matches("[\\x21-\\x7e]*");
    }

    /** The reference: the rules of DataStream's class comment, written as plainly as possible. */
    private static final class Model {
        final ByteArrayOutputStream content = new ByteArrayOutputStream();
        boolean bare;
        int consumed;
        String outcome;

        static Model run(byte[] in) {
            Model m = new Model();
            int i = 0;
            int line = 0;
            boolean lineStart = true;
            boolean tooLong = false; // the first line over the limit fails the read once; the drain reads on
            while (true) {
                if (i >= in.length) {
                    m.outcome = tooLong ? "too long, then closed" : "closed";
                    return m;
                }
                if (lineStart) {
                    lineStart = false;
                    if (in[i] == '.') {
                        if (i + 2 < in.length && in[i + 1] == '\r' && in[i + 2] == '\n') {
                            m.consumed = i + 3;
                            m.outcome = tooLong ? "too long, drained to the end" : "end";
                            return m;
                        }
                        if (i + 1 < in.length && in[i + 1] == '\r') { // ".<CR>x": the dot, then a bare CR
                            m.crlf(true);
                            line = 0;
                            i += 2;
                            continue;
                        }
                        i++; // a stuffed dot
                        continue;
                    }
                }
                byte b = in[i];
                if (b == '\r' && i + 1 < in.length && in[i + 1] == '\n') {
                    m.crlf(false);
                    line = 0;
                    lineStart = true;
                    i += 2;
                } else if (b == '\r' || b == '\n') {
                    m.crlf(true);
                    line = 0;
                    i++;
                } else if (++line > DataStream.MAX_LINE && !tooLong) {
                    tooLong = true; // this byte is lost with the failed read: the message is refused anyway
                    i++;
                } else {
                    m.content.write(b);
                    i++;
                }
            }
        }

        private void crlf(boolean bareEnding) {
            content.write('\r');
            content.write('\n');
            bare |= bareEnding;
        }
    }

    /** A client whose bytes arrive in pieces: at most {@code piece} bytes per read, without mark support. */
    private static final class Trickle extends InputStream {
        private final ByteArrayInputStream in;
        private final int piece;

        Trickle(byte[] bytes, int piece) {
            this.in = new ByteArrayInputStream(bytes);
            this.piece = piece;
        }

        @Override
        public int read() {
            return in.read();
        }

        @Override
        public int read(byte[] b, int off, int len) {
            return in.read(b, off, Math.min(len, piece));
        }

        @Override
        public int available() {
            return Math.min(in.available(), piece);
        }

        @Override
        public boolean markSupported() {
            return false;
        }
    }
}
