package dev.relay.core.routing;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.relay.config.AddressRewrite;
import dev.relay.core.model.HeaderAddresses;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Coverage-guided fuzzing of the header rewriter (a route's {@code rewrite-from} and {@code strip-headers}). The
 * header section is what the client wrote; properties checked against a small reference model of where the header
 * section ends: the body after it is copied byte for byte, a rewriter with nothing to do copies the message
 * unchanged, a stripped field never goes out, and a rewritten {@code From:} that a mail reader can parse holds the
 * rewritten address only. {@code mvn verify} replays the corpus in
 * {@code src/test/resources/dev/relay/core/routing/HeaderRewriterFuzzTestInputs/}.
 */
class HeaderRewriterFuzzTest {
    private static final AddressRewrite NOREPLY = AddressRewrite.parse("noreply@verified.test");
    private static final AddressRewrite DOMAIN = AddressRewrite.parse("@verified.test");

    @FuzzTest(maxDuration = "5s")
    void headerSectionIsRewrittenAndTheBodyKept(byte[] message) throws IOException {
        Route.Rewrite[] rewrites = {
                Route.Rewrite.NONE,
                new Route.Rewrite(null, null, false, Set.of("x-strip", "received")),
                new Route.Rewrite(null, NOREPLY, true, Set.of()),
                new Route.Rewrite(null, DOMAIN, false, Set.of("x-strip")),
        };
        byte[] body = Arrays.copyOfRange(message, headerEnd(message), message.length);
        for (Route.Rewrite rewrite : rewrites) {
            byte[] out = rewrite(message, rewrite);
            if (!rewrite.changesContent()) {
                assertThat(out).as("nothing to rewrite: the message goes out unchanged").isEqualTo(message);
                continue;
            }
            assertThat(Arrays.copyOfRange(out, out.length - body.length, out.length))
                    .as("the body after the header section is copied byte for byte").isEqualTo(body);
            String headers = new String(out, 0, out.length - body.length, StandardCharsets.ISO_8859_1);
            for (String line : headers.split("\n")) {
                String lower = line.toLowerCase(Locale.ROOT);
                for (String stripped : rewrite.stripHeaders()) {
                    assertThat(lower).as("a stripped field goes out").doesNotStartWith(stripped + ":");
                }
            }
        }
    }

    /**
     * A From: value rewritten: when the original is a mailbox a mail reader reads, the result is exactly one
     * mailbox, the rewritten one; whatever the original, a result that a mail reader reads names no other address.
     */
    @FuzzTest(maxDuration = "5s")
    void rewrittenFromNamesOnlyTheRewrittenAddress(byte[] input) {
        boolean fixed = input.length > 0 && (input[0] & 1) == 1; // the first byte picks the rewrite, then the value
        AddressRewrite to = fixed ? NOREPLY : DOMAIN;
        String value = input.length == 0 ? "" : latin1(Arrays.copyOfRange(input, 1, input.length));
        List<String> original = parseOrNull(value);
        String rewritten = HeaderRewriter.rewriteMailbox(value, to);
        List<String> result = parseOrNull(rewritten);
        if (original != null) {
            assertThat(result).as("rewritten from %s", original).isNotNull().hasSize(1);
            assertThat(result.get(0)).isEqualToIgnoringCase(to.apply(original.get(0)));
        }
        if (result != null) {
            for (String address : result) {
                if (fixed) {
                    assertThat(address).isEqualToIgnoringCase("noreply@verified.test");
                } else {
                    assertThat(address.toLowerCase(Locale.ROOT)).endsWith("@verified.test");
                }
            }
        }
    }

    private static List<String> parseOrNull(String value) {
        try {
            return HeaderAddresses.parse(value.replaceAll("\r?\n", "").trim());
        } catch (HeaderAddresses.MalformedException e) {
            return null;
        }
    }

    private static byte[] rewrite(byte[] message, Route.Rewrite rewrite) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        HeaderRewriter.rewrite(new ByteArrayInputStream(message), out, rewrite);
        return out.toByteArray();
    }

    /**
     * The reference model: where the body starts. Lines end at LF; a line that starts with SP or HTAB continues
     * the field before it; the first line that is blank or not {@code name:} (printable ASCII name) is the body's.
     */
    static int headerEnd(byte[] m) {
        int pos = 0;
        boolean inField = false;
        while (pos < m.length) {
            int lf = pos;
            while (lf < m.length && m[lf] != '\n') {
                lf++;
            }
            int next = lf < m.length ? lf + 1 : lf;
            byte first = m[pos];
            if (inField && (first == ' ' || first == '\t')) {
                pos = next;
                continue;
            }
            if (!isFieldStart(m, pos, next)) {
                return pos;
            }
            inField = true;
            pos = next;
        }
        return m.length;
    }

    private static boolean isFieldStart(byte[] m, int from, int to) {
        for (int i = from; i < to; i++) {
            if (m[i] == ':') {
                return i > from;
            }
            if (m[i] < '!' || m[i] > '~') {
                return false;
            }
        }
        return false;
    }

    private static String latin1(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }
}
