package dev.relay.core.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.relay.config.AddressRewrite;
import dev.relay.core.model.HeaderAddresses;
import dev.relay.core.spool.Body;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HeaderRewriterTest {
    private static final AddressRewrite NOREPLY = AddressRewrite.parse("noreply@verified.test");
    private static final AddressRewrite DOMAIN = AddressRewrite.parse("@verified.test");

    @TempDir
    Path dir;

    private static String rewrite(String message, Route.Rewrite rw) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        HeaderRewriter.rewrite(new ByteArrayInputStream(message.getBytes(StandardCharsets.ISO_8859_1)), out, rw);
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    private static Route.Rewrite from(AddressRewrite to, boolean replyTo) {
        return new Route.Rewrite(null, to, replyTo, Set.of());
    }

    private static Route.Rewrite strip(String... names) {
        return new Route.Rewrite(null, null, false, Set.of(names));
    }

    @Test
    void aFromThatDoesNotParseIsNeverRewrittenIntoOneThatReadsAsTheOriginalAuthor() throws Exception {
        // found by HeaderRewriterFuzzTest: the lenient reading took the whole value for one address and rewrote
        // its last domain, which left a list whose first address is the author's, unrewritten
        String value = " a@x.org\u00c9,\u00cb@r.mor\u00b1\r\n";
        String rewritten = HeaderRewriter.rewriteMailbox(value, DOMAIN);
        assertThat(dev.relay.core.model.HeaderAddresses.parse(rewritten)).containsExactly("a@verified.test");
        assertThat(dev.relay.core.model.HeaderAddresses.parse(HeaderRewriter.rewriteMailbox(value, NOREPLY)))
                .containsExactly("noreply@verified.test");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            "Alice Smith" <alice@customer.test>      | "Alice Smith" <noreply@verified.test>  | "Alice Smith" <alice@verified.test>
            Alice <alice@customer.test>              | Alice <noreply@verified.test>          | Alice <alice@verified.test>
            <alice@customer.test>                    | <noreply@verified.test>                | <alice@verified.test>
            alice@customer.test                      | noreply@verified.test                  | alice@verified.test
            alice@customer.test (Alice)              | noreply@verified.test (Alice)          | alice@verified.test (Alice)
            "Smith, <Alice>" <alice@customer.test>   | "Smith, <Alice>" <noreply@verified.test> | "Smith, <Alice>" <alice@verified.test>
            =?UTF-8?Q?J=C3=B6rg?= <jorg@customer.test> | =?UTF-8?Q?J=C3=B6rg?= <noreply@verified.test> | =?UTF-8?Q?J=C3=B6rg?= <jorg@verified.test>
            """)
    void theFromAddressIsRewrittenAndTheDisplayNameKept(String value, String fixed, String domain) {
        assertThat(HeaderRewriter.rewriteMailbox(" " + value + "\r\n", NOREPLY)).isEqualTo(fixed);
        assertThat(HeaderRewriter.rewriteMailbox(" " + value + "\r\n", DOMAIN)).isEqualTo(domain);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            a@customer.test, "Bob" <bob@other.test>           | <noreply@verified.test> | <a@verified.test>
            Alice <a@customer.test>, bob@other.test           | <noreply@verified.test> | <a@verified.test>
            """)
    void aFromThatIsNotOneMailboxAsAnRfc5322ParserReadsItBecomesOneRewrittenMailbox(String value, String fixed,
                                                                                    String domain) {
        assertThat(HeaderRewriter.rewriteMailbox(" " + value + "\r\n", NOREPLY)).isEqualTo(fixed);
        assertThat(HeaderRewriter.rewriteMailbox(" " + value + "\r\n", DOMAIN)).isEqualTo(domain);
    }

    @Test
    void aFoldedFromIsRewrittenAndTheOriginalKeptAsReplyToFoldingIncluded() throws IOException {
        String in = "Subject: s\r\nFrom: \"A very long display name\"\r\n <alice@customer.test>\r\nTo: b@x.test\r\n"
                + "\r\nbody\r\n";
        assertThat(rewrite(in, from(NOREPLY, true))).isEqualTo("Subject: s\r\n"
                + "From: \"A very long display name\" <noreply@verified.test>\r\nTo: b@x.test\r\n"
                + "Reply-To: \"A very long display name\"\r\n <alice@customer.test>\r\n\r\nbody\r\n");
    }

    @Test
    void anExistingReplyToIsKept() throws IOException {
        String in = "From: a@customer.test\r\nReply-To: support@customer.test\r\n\r\nbody\r\n";
        assertThat(rewrite(in, from(NOREPLY, true)))
                .isEqualTo("From: noreply@verified.test\r\nReply-To: support@customer.test\r\n\r\nbody\r\n");
    }

    @Test
    void replyToIsOnlyAddedWhenAsked() throws IOException {
        assertThat(rewrite("From: a@customer.test\r\n\r\nbody\r\n", from(NOREPLY, false)))
                .isEqualTo("From: noreply@verified.test\r\n\r\nbody\r\n");
    }

    @Test
    void headerNamesAreMatchedCaseInsensitivelyAndFoldedLinesGoWithTheirField() throws IOException {
        String in = "Received: from a\r\n\tby b\r\nx-originating-ip: [10.0.0.1]\r\nSubject: keep\r\n"
                + "X-Originating-IP: [10.0.0.2]\r\n  continued\r\n\r\nX-Originating-IP: in the body\r\n";
        assertThat(rewrite(in, strip("x-originating-ip")))
                .isEqualTo("Received: from a\r\n\tby b\r\nSubject: keep\r\n\r\nX-Originating-IP: in the body\r\n");
    }

    @Test
    void theBodyIsNeverTouchedEvenWhenItLooksLikeHeaders() throws IOException {
        String body = "From: not-a-header@customer.test\r\n.\r\n..dots\r\nno CRLF at the end";
        assertThat(rewrite("From: a@customer.test\r\n\r\n" + body, from(NOREPLY, true)))
                .isEqualTo("From: noreply@verified.test\r\nReply-To: a@customer.test\r\n\r\n" + body);
    }

    @Test
    void aMessageWithoutBodyOrBlankLineStillGetsItsReplyTo() throws IOException {
        assertThat(rewrite("From: a@customer.test", from(NOREPLY, true)))
                .isEqualTo("From: noreply@verified.test\r\nReply-To: a@customer.test\r\n");
    }

    @Test
    void eightBitHeaderBytesPassThroughUnchanged() throws IOException {
        byte[] utf8 = "Subject: Grüße\r\nFrom: Jörg <j@customer.test>\r\n\r\nä\r\n".getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        HeaderRewriter.rewrite(new ByteArrayInputStream(utf8), out, from(DOMAIN, false));
        assertThat(out.toString(StandardCharsets.UTF_8))
                .isEqualTo("Subject: Grüße\r\nFrom: Jörg <j@verified.test>\r\n\r\nä\r\n");
    }

    @Test
    void everyFromIsRewrittenSoASecondOneCannotCarryTheOriginalAuthor() throws IOException {
        assertThat(rewrite("From: a@customer.test\r\nFrom: b@customer.test\r\n\r\nx", from(NOREPLY, true)))
                .isEqualTo("From: noreply@verified.test\r\nFrom: noreply@verified.test\r\n"
                        + "Reply-To: a@customer.test\r\n\r\nx");
    }

    @Test
    void aLongRewrittenFromIsFoldedAtSpacesAndNoLineIsOver78WhereASpaceAllows() throws Exception {
        String name = "\"" + "Very Long Display Name ".repeat(8).trim() + "\"";
        String folded = "From: " + name + "\r\n (" + "comment ".repeat(60).trim() + ") <a@customer.test>\r\n";
        String out = rewrite(folded + "Subject: s\r\n\r\nx", from(NOREPLY, false));
        String header = out.substring(0, out.indexOf("Subject:"));
        assertThat(header.split("\r\n")).allSatisfy(line -> assertThat(line.length()).isLessThanOrEqualTo(78));
        assertThat(header).startsWith("From: \"Very Long").contains("<noreply@verified.test>")
                .doesNotContain("customer.test");
        assertThat(HeaderAddresses.parse(header.substring(6).replace("\r\n", "").strip()))
                .containsExactly("noreply@verified.test");
    }

    @Test
    void aFromInAHeaderTooLongToParseIsNeverSentAsItWas() {
        String huge = "X-Big: " + "a".repeat(HeaderRewriter.MAX_FIELD + 10) + "\r\n";
        assertThatThrownBy(() -> rewrite(huge + "From: ceo@customer.test\r\n\r\nx", from(NOREPLY, false)))
                .isInstanceOf(HeaderRewriter.TooLongToRewrite.class);
    }

    @Test
    void aHeaderFieldTooLongToParseIsCopiedWithTheRestUnchanged() throws IOException {
        String huge = "X-Big: " + "a".repeat(HeaderRewriter.MAX_FIELD + 10) + "\r\n";
        String in = huge + "X-Strip: yes\r\n\r\nbody";
        assertThat(rewrite(in, strip("x-strip"))).isEqualTo(in);
    }

    @Test
    void aLargeBodyIsStreamedByteForByte() throws Exception {
        Path source = dir.resolve("source");
        long size = 32L * 1024 * 1024;
        MessageDigest expected = MessageDigest.getInstance("SHA-256");
        byte[] block = new byte[64 * 1024];
        for (int i = 0; i < block.length; i++) {
            block[i] = (byte) (i % 251);
        }
        byte[] head = "X-Originating-IP: [10.0.0.1]\r\nSubject: big\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        try (OutputStream out = Files.newOutputStream(source)) {
            out.write(head);
            for (long written = 0; written < size; written += block.length) {
                out.write(block);
                expected.update(block);
            }
        }
        Path target = dir.resolve("target");
        long heapBefore = usedHeap();
        HeaderRewriter.rewrite(Body.wholeFile(source), target, strip("x-originating-ip"));
        assertThat(Files.size(target)).isEqualTo(size + head.length - "X-Originating-IP: [10.0.0.1]\r\n".length());
        MessageDigest actual = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(target)) {
            byte[] headers = in.readNBytes("Subject: big\r\n\r\n".length());
            assertThat(new String(headers, StandardCharsets.US_ASCII)).isEqualTo("Subject: big\r\n\r\n");
            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = in.read(buf)) > 0) {
                actual.update(buf, 0, n);
            }
        }
        assertThat(HexFormat.of().formatHex(actual.digest())).isEqualTo(HexFormat.of().formatHex(expected.digest()));
        assertThat(usedHeap() - heapBefore).as("heap growth while copying 32 MiB").isLessThan(size / 2);
    }

    private static long usedHeap() {
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }
}
