package dev.relay.core.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class DotStufferTest {

    /** Encodes in one go; "|" stands for CR and "~" for LF to keep the table readable. */
    private static String stuff(String in, int chunk) {
        byte[] bytes = in.replace('|', '\r').replace('~', '\n').getBytes(StandardCharsets.ISO_8859_1);
        DotStuffer stuffer = new DotStuffer();
        byte[] out = new byte[DotStuffer.maxEncodedLength(bytes.length) + DotStuffer.maxFinishLength()];
        int n = 0;
        for (int off = 0; off < bytes.length; off += chunk) {
            int len = Math.min(chunk, bytes.length - off);
            n += stuffer.encode(bytes, off, len, out, n);
        }
        n += stuffer.finish(out, n);
        return new String(out, 0, n, StandardCharsets.ISO_8859_1).replace('\r', '|').replace('\n', '~');
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = ';', value = {
            "a|~b|~;          a|~b|~.|~",
            "a|~b;            a|~b|~.|~",
            ";                .|~",
            ".|~;             ..|~.|~",
            "a|~.|~b|~;       a|~..|~b|~.|~",
            "a|~..x|~;        a|~...x|~.|~",
            "a.b|~;           a.b|~.|~",
            "a~b~;            a|~b|~.|~",
            "a|b|;            a|~b|~.|~",
            "a~.~b~;          a|~..|~b|~.|~",
            "a|.|b|;          a|~..|~b|~.|~",
            "a~.|~b;          a|~..|~b|~.|~",
            "a|~.|b;          a|~..|~b|~.|~",
            "a||~b;           a|~|~b|~.|~",
            "~~;              |~|~.|~",
    })
    void normalisesLineEndingsAndDoublesLeadingDots(String in, String expected) {
        String input = in == null ? "" : in.strip();
        assertThat(stuff(input, Integer.MAX_VALUE)).isEqualTo(expected.strip());
    }

    @Test
    void chunkBoundariesDoNotChangeTheOutput() {
        String message = "Subject: x|~|~.line|~a~b|c|~.|~..|~end";
        String whole = stuff(message, Integer.MAX_VALUE);
        for (int chunk = 1; chunk <= 7; chunk++) {
            assertThat(stuff(message, chunk)).as("chunk size %d", chunk).isEqualTo(whole);
        }
    }

    @Test
    void noEndOfDataSequenceCanAppearBeforeTheRealEnd() {
        // The SMTP smuggling variants: none may survive as <CRLF>.<CRLF> before the terminator.
        for (String variant : new String[] {"~.~", "|.|", "~.|~", "|~.|", "|~.~", "~.|"}) {
            String out = stuff("a" + variant + "MAIL FROM:<x@y>|~", Integer.MAX_VALUE);
            assertThat(out.indexOf("|~.|~")).as(variant).isEqualTo(out.length() - 5);
        }
    }
}
