package dev.relay.server.receive;

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
 * {@code src/test/resources/dev/relay/server/receive/InboundParsersFuzzTestInputs/}.
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
            CommandPath path = CommandPath.parse(line, verb[0], verb[1]);
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
        String trace = DataCommand.traceName(line);
        assertThat(trace.length()).isLessThanOrEqualTo(DataCommand.MAX_TRACE_NAME);
        assertThat(trace).matches("[\\x21-\\x7e]*");
    }

    /**
     * The header section of a submitted message (CRLF line endings, as DataStream leaves them): the From:/Sender:
     * fields handed to check-header-from are exactly the From:/Sender: fields of the header section that goes out
     * (read back by a reference model), the body is kept byte for byte, and Message-ID and Date are there.
     */
    @FuzzTest(maxDuration = "5s")
    void submittedHeaderSectionIsCheckedAsItGoesOut(byte[] input) throws IOException {
        ByteArrayOutputStream crlf = new ByteArrayOutputStream();
        for (int i = 0; i < input.length; i++) { // as DataStream stores it: every line ending CRLF
            byte b = input[i];
            if (b == '\r' || b == '\n') {
                crlf.write('\r');
                crlf.write('\n');
                if (b == '\r' && i + 1 < input.length && input[i + 1] == '\n') {
                    i++;
                }
            } else {
                crlf.write(b);
            }
        }
        byte[] content = crlf.toByteArray();
        if (content.length > 0 && content[content.length - 1] != '\n') { // DataStream's content ends with CRLF
            content = Arrays.copyOf(content, content.length + 2);
            content[content.length - 2] = '\r';
            content[content.length - 1] = '\n';
        }
        String received = "Received: from client (client [192.0.2.1])\r\n\tby relay.test (relay); "
                + "Fri, 4 Dec 2026 19:00:00 +0000\r\n";
        java.util.List<java.util.List<String>> seen = new java.util.ArrayList<>();
        byte[] out = SubmissionHeaders.wrap(new ByteArrayInputStream(content), received, "relay.test",
                java.time.ZonedDateTime.parse("2026-12-04T19:00:00Z"), seen::add).readAllBytes();
        assertThat(seen).hasSize(1);
        String text = new String(out, StandardCharsets.ISO_8859_1);
        assertThat(text).startsWith(received);
        java.util.List<String> fields = new java.util.ArrayList<>();
        int bodyAt = headerFields(out, fields);
        java.util.List<String> addressFields = fields.stream()
                .filter(f -> f.regionMatches(true, 0, "From:", 0, 5) || f.regionMatches(true, 0, "Sender:", 0, 7))
                .toList();
        assertThat(fields).anyMatch(f -> f.regionMatches(true, 0, "Message-ID:", 0, 11));
        assertThat(fields).anyMatch(f -> f.regionMatches(true, 0, "Date:", 0, 5));
        // what goes out after the header section is the client's content after its header section, read below
        // the Received: line (a first line that starts with a space continues that field: " o<:m..." did)
        byte[] behindReceived = (received + new String(content, StandardCharsets.ISO_8859_1))
                .getBytes(StandardCharsets.ISO_8859_1);
        int clientBody = headerFields(behindReceived, new java.util.ArrayList<>()) - received.length();
        byte[] body = Arrays.copyOfRange(content, clientBody, content.length);
        assertThat(Arrays.copyOfRange(out, out.length - body.length, out.length)).isEqualTo(body);
        assertThat(bodyAt).isLessThanOrEqualTo(out.length - body.length);
        java.util.List<String> goesOut = addressFields.stream() // as the checker decodes them: UTF-8
                .map(f -> new String(f.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8)).toList();
        assertThat(seen.get(0)).as("the From:/Sender: fields checked are those that go out").isEqualTo(goesOut);
    }

    /**
     * The reference model of a header section with CRLF line endings: fields (unfolded: line ends removed) until
     * a blank line or a line that is neither a field ({@code name:}, printable ASCII name) nor a continuation of
     * one; returns where the body starts (after the blank line, or at that line).
     */
    private static int headerFields(byte[] m, java.util.List<String> fields) {
        int pos = 0;
        while (pos < m.length) {
            int lf = pos;
            while (lf < m.length && m[lf] != '\n') {
                lf++;
            }
            int next = lf < m.length ? lf + 1 : lf;
            String line = new String(m, pos, next - pos, StandardCharsets.ISO_8859_1);
            String bare = line.endsWith("\r\n") ? line.substring(0, line.length() - 2) : line;
            if (line.equals("\r\n")) {
                return next;
            }
            if ((line.startsWith(" ") || line.startsWith("\t")) && !fields.isEmpty()) {
                fields.set(fields.size() - 1, fields.get(fields.size() - 1) + bare);
            } else if (isField(line)) {
                fields.add(bare);
            } else {
                return pos;
            }
            pos = next;
        }
        return m.length;
    }

    private static boolean isField(String line) {
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == ':') {
                return i > 0;
            }
            if (c < '!' || c > '~') {
                return false;
            }
        }
        return false;
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
