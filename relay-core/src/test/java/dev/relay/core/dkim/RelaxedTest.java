package dev.relay.core.dkim;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** The relaxed canonicalizations against RFC 6376 section 3.4.5 and the body of RFC 8463's example. */
class RelaxedTest {
    /** A digest that keeps what it is given, to see the canonical body itself. */
    private static final class Keep extends MessageDigest {
        private final StringBuilder seen = new StringBuilder();

        Keep() {
            super("keep");
        }

        @Override
        protected void engineUpdate(byte input) {
            seen.append((char) (input & 0xff));
        }

        @Override
        protected void engineUpdate(byte[] input, int offset, int len) {
            seen.append(new String(input, offset, len, StandardCharsets.ISO_8859_1));
        }

        @Override
        protected byte[] engineDigest() {
            return seen.toString().getBytes(StandardCharsets.ISO_8859_1);
        }

        @Override
        protected void engineReset() {
            seen.setLength(0);
        }
    }

    private static String body(String... pieces) {
        Relaxed r = new Relaxed(new Keep());
        for (String p : pieces) {
            byte[] b = p.getBytes(StandardCharsets.ISO_8859_1);
            r.update(b, 0, b.length);
        }
        return new String(r.finish(), StandardCharsets.ISO_8859_1);
    }

    @Test
    void rfc6376Example() {
        // section 3.4.5: "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n"
        assertThat(Relaxed.header("A: X\r\n")).isEqualTo("a:X\r\n");
        assertThat(Relaxed.header("B : Y\t\r\n\tZ  \r\n")).isEqualTo("b:Y Z\r\n");
        assertThat(body(" C \r\nD \t E\r\n\r\n\r\n")).isEqualTo(" C\r\nD E\r\n");
    }

    @Test
    void theSameBodyInAnyPiecesAndWithAnyLineEnds() {
        String expected = " C\r\nD E\r\n";
        assertThat(body(" C \r", "\nD \t", " E\r\n\r", "\n\r\n")).isEqualTo(expected);
        assertThat(body(" C \nD \t E\n\n")).isEqualTo(expected); // bare LF: sent as CRLF
        assertThat(body(" C \rD \t E\r")).isEqualTo(expected); // bare CR too
    }

    @Test
    void emptyLinesInsideStayAndALastLineWithoutEndGetsOne() {
        assertThat(body("a\r\n\r\n  \r\nb")).isEqualTo("a\r\n\r\n\r\nb\r\n");
    }

    @Test
    void anEmptyBodyOrOneOfEmptyLinesIsEmpty() {
        assertThat(body()).isEmpty();
        assertThat(body("\r\n \r\n\t\r\n")).isEmpty();
    }

    @Test
    void rfc8463ExampleBodyHash() throws Exception {
        Relaxed r = new Relaxed(MessageDigest.getInstance("SHA-256"));
        byte[] b = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n"
                .getBytes(StandardCharsets.US_ASCII);
        r.update(b, 0, b.length);
        assertThat(Base64.getEncoder().encodeToString(r.finish()))
                .isEqualTo("2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
    }
}
