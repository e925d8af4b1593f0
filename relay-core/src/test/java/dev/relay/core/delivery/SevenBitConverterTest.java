package dev.relay.core.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.mail.Multipart;
import jakarta.mail.Part;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class SevenBitConverterTest {
    private static final String UMLAUTS = "Gr\u00fc\u00dfe aus K\u00f6ln, \u00e7a va? \u20ac 5";

    /** Both passes in memory, fed in chunks of {@code chunk} bytes; null output when refused. */
    private static Result convert(byte[] message, int chunk) {
        BitSet eight = new BitSet();
        BitSet notUtf8 = new BitSet();
        SevenBitConverter analyse = SevenBitConverter.analyse(eight, notUtf8);
        feed(analyse, message, chunk);
        if (analyse.refusal() != null) {
            return new Result(null, analyse.refusal());
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SevenBitConverter convert = SevenBitConverter.convert(new SevenBitConverter.Sink() {
            @Override
            public void write(byte[] b, int off, int len) {
                out.write(b, off, len);
            }

            @Override
            public void write(int b) {
                out.write(b);
            }
        }, eight, notUtf8);
        feed(convert, message, chunk);
        assertThat(convert.refusal()).isNull();
        return new Result(out.toByteArray(), null);
    }

    private static void feed(SevenBitConverter c, byte[] message, int chunk) {
        for (int i = 0; i < message.length; i += chunk) {
            c.write(message, i, Math.min(chunk, message.length - i));
        }
        c.finish();
    }

    private record Result(byte[] bytes, String refusal) {
        String text() {
            return new String(bytes, StandardCharsets.US_ASCII);
        }

        MimeMessage parsed() throws Exception {
            return new MimeMessage(Session.getInstance(new Properties()), new ByteArrayInputStream(bytes));
        }
    }

    private static Result both(String message) {
        byte[] b = message.getBytes(StandardCharsets.UTF_8);
        Result whole = convert(b, b.length + 1);
        for (int chunk : new int[] {1, 3, 7, 64}) {
            Result pieces = convert(b, chunk);
            assertThat(pieces.refusal()).isEqualTo(whole.refusal());
            if (whole.bytes() != null) {
                assertThat(pieces.text()).as("chunk size %d", chunk).isEqualTo(whole.text());
            }
        }
        return whole;
    }

    private static void assertSevenBitWithCrlfAndShortLines(Result r) {
        byte[] b = r.bytes();
        for (int i = 0; i < b.length; i++) {
            assertThat(b[i] >= 0).as("byte %d is 7-bit", i).isTrue();
            if (b[i] == '\n') {
                assertThat(i > 0 && b[i - 1] == '\r').as("LF at %d follows CR", i).isTrue();
            }
        }
        for (String line : r.text().split("\r\n")) {
            assertThat(line.length()).as("line %s", line).isLessThanOrEqualTo(998);
        }
    }

    private static String decoded(Part part) throws Exception {
        try (InputStream in = part.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void plainEightBitBodyWithoutMimeBecomesQuotedPrintableTextWithTheMimeFieldsItNeeds() throws Exception {
        String message = "From: a@example.org\r\nSubject: hello\r\n\r\n" + UMLAUTS + "\r\n.dot\r\ntrailing \r\n";
        Result r = both(message);

        assertSevenBitWithCrlfAndShortLines(r);
        assertThat(r.text()).startsWith("From: a@example.org\r\nSubject: hello\r\nMIME-Version: 1.0\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
        assertThat(r.text()).contains("Gr=C3=BC=C3=9Fe").contains("trailing=20\r\n");
        assertThat(decoded(r.parsed())).isEqualTo(UMLAUTS + "\r\n.dot\r\ntrailing \r\n");
    }

    @Test
    void eightBitBodyThatIsNotUtf8IsLabelledUnknown8bit() throws Exception {
        byte[] message = "Subject: x\r\n\r\nna\u00efve\r\n".getBytes(StandardCharsets.ISO_8859_1);
        Result r = convert(message, 5);

        assertThat(r.text()).contains("Content-Type: text/plain; charset=unknown-8bit\r\n").contains("na=EFve");
    }

    @Test
    void quotedPrintableLinesStayWithin76CharactersAndDecodeToTheLongLine() throws Exception {
        String longLine = ("\u00e9t\u00e9 = summer; " + "x".repeat(30)).repeat(200); // far over 998 octets
        Result r = both("Subject: long\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Transfer-Encoding: 8bit\r\n\r\n" + longLine + "\r\n");

        assertSevenBitWithCrlfAndShortLines(r);
        String body = r.text().substring(r.text().indexOf("\r\n\r\n") + 4);
        for (String line : body.split("\r\n")) {
            assertThat(line.length()).isLessThanOrEqualTo(76);
        }
        assertThat(r.text()).contains("Content-Transfer-Encoding: quoted-printable\r\n")
                .doesNotContain("Content-Transfer-Encoding: 8bit");
        assertThat(decoded(r.parsed())).isEqualTo(longLine + "\r\n");
    }

    @Test
    void multipartAlternativeEncodesItsEightBitTextPartsAndLeavesTheOthersAsTheyAre() throws Exception {
        String html = "<p>" + UMLAUTS + "</p>";
        String message = "From: a@example.org\r\nMIME-Version: 1.0\r\n"
                + "Content-Type: multipart/alternative; boundary=\"b1=_x\"\r\n\r\n"
                + "preamble\r\n"
                + "--b1=_x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                + UMLAUTS + "\r\n"
                + "--b1=_x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n"
                + "--b1=_x\r\nContent-Type: text/plain\r\n\r\nplain ascii = untouched\r\n"
                + "--b1=_x--\r\nepilogue\r\n";
        Result r = both(message);

        assertSevenBitWithCrlfAndShortLines(r);
        assertThat(r.text()).contains("\r\n--b1=_x\r\nContent-Type: text/plain\r\n\r\nplain ascii = untouched\r\n"
                + "--b1=_x--\r\nepilogue\r\n");
        Multipart mp = (Multipart) r.parsed().getContent();
        assertThat(mp.getCount()).isEqualTo(3);
        assertThat(decoded(mp.getBodyPart(0))).isEqualTo(UMLAUTS);
        assertThat(mp.getBodyPart(0).getHeader("Content-Transfer-Encoding")).containsExactly("quoted-printable");
        assertThat(decoded(mp.getBodyPart(1))).isEqualTo(html);
        assertThat(mp.getBodyPart(1).getHeader("Content-Transfer-Encoding")).containsExactly("quoted-printable");
        assertThat(decoded(mp.getBodyPart(2))).isEqualTo("plain ascii = untouched");
    }

    @Test
    void nestedMultipartsAreWalkedAndABase64PartIsLeftUntouched() throws Exception {
        String base64Part = "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                + "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk\r\n";
        byte[] binary = new byte[300];
        for (int i = 0; i < binary.length; i++) {
            binary[i] = (byte) (i * 7);
        }
        String utf8 = new String(UMLAUTS.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
        String message = "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n"
                + "--outer\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n"
                + "Content-Transfer-Encoding: 8bit\r\n\r\n"
                + "--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + utf8 + "\r\n"
                + "--inner--\r\n"
                + "--outer\r\n" + base64Part
                + "--outer\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                + "BINARY\r\n--outer--\r\n";
        byte[] bytes = message.replace("BINARY", new String(binary, StandardCharsets.ISO_8859_1).replace("\n", "")
                        .replace("\r", "")).getBytes(StandardCharsets.ISO_8859_1);
        Result r = convert(bytes, 11);

        assertSevenBitWithCrlfAndShortLines(r);
        assertThat(r.text()).contains(base64Part);
        assertThat(r.text()).contains("Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
                + "Content-Transfer-Encoding: 7bit\r\n");
        Multipart outer = (Multipart) r.parsed().getContent();
        Multipart inner = (Multipart) outer.getBodyPart(0).getContent();
        assertThat(decoded(inner.getBodyPart(0))).isEqualTo(UMLAUTS);
        assertThat(outer.getBodyPart(2).getHeader("Content-Transfer-Encoding")).containsExactly("base64");
        byte[] expected = new String(binary, StandardCharsets.ISO_8859_1).replace("\n", "").replace("\r", "")
                .getBytes(StandardCharsets.ISO_8859_1);
        try (InputStream in = outer.getBodyPart(2).getInputStream()) {
            assertThat(in.readAllBytes()).isEqualTo(expected);
        }
    }

    @Test
    void attachedMessageBodyIsConvertedButItsEightBitHeaderIsRefused() throws Exception {
        String good = "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                + "--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                + "Subject: inner\r\n\r\n" + UMLAUTS + "\r\n--b--\r\n";
        Result r = both(good);
        assertSevenBitWithCrlfAndShortLines(r);
        assertThat(r.text()).contains("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
                + "Subject: inner\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Transfer-Encoding: quoted-printable\r\n\r\n");

        Result bad = both(good.replace("Subject: inner", "Subject: " + UMLAUTS));
        assertThat(bad.bytes()).isNull();
        assertThat(bad.refusal()).contains("8-bit bytes in a header section");
    }

    @Test
    void anOuterDelimiterEndsAnInnerPartEvenWhenTheInnerBoundaryIsItsPrefix() throws Exception {
        String message = "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=ab\r\n\r\n"
                + "--ab\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n"
                + "--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + UMLAUTS + "\r\n"
                + "--ab\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + UMLAUTS + "!\r\n--ab--\r\n";
        Result r = both(message);

        assertSevenBitWithCrlfAndShortLines(r);
        assertThat(r.text()).contains("\r\n--ab\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        Multipart outer = (Multipart) r.parsed().getContent();
        assertThat(outer.getCount()).isEqualTo(2);
        assertThat(decoded(outer.getBodyPart(1))).isEqualTo(UMLAUTS + "!");
    }

    @Test
    void whatCannotBeConvertedIsRefusedWithTheReason() {
        assertThat(both("Subject: " + UMLAUTS + "\r\n\r\nbody\r\n").refusal())
                .contains("8-bit bytes in a header section (the message's)");
        assertThat(both("Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" + UMLAUTS
                + "\r\n").refusal()).contains("declared base64 or quoted-printable");
        assertThat(both("Content-Type: multipart/mixed; boundary=b\r\n\r\n" + UMLAUTS + "\r\n--b\r\n\r\nx\r\n"
                + "--b--\r\n").refusal()).contains("preamble or epilogue");
        assertThat(both("Content-Type: multipart/signed; boundary=s\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\n"
                + UMLAUTS + "\r\n--s\r\nContent-Type: application/pgp-signature\r\n\r\nsig\r\n--s--\r\n").refusal())
                .contains("multipart/signed");
        assertThat(both("Subject: x\r\nX-Big: " + "y".repeat(300 * 1024) + "\r\n\r\n" + UMLAUTS).refusal())
                .contains("header section over 256 KiB");
    }

    @Test
    void bareLineFeedsBecomeCrlfAndAMissingLastLineEndingIsAdded() throws Exception {
        Result r = both("Subject: lf\n\n" + UMLAUTS + "\nsecond");

        assertSevenBitWithCrlfAndShortLines(r);
        assertThat(r.text()).startsWith("Subject: lf\r\nMIME-Version: 1.0\r\n").endsWith("second\r\n");
        assertThat(decoded(r.parsed())).isEqualTo(UMLAUTS + "\r\nsecond\r\n");
    }

    @Test
    void randomMimeTreesConvertToSevenBitAndDecodeToTheirOriginalText() throws Exception {
        java.util.Random random = new java.util.Random(17);
        for (int round = 0; round < 150; round++) {
            java.util.List<String> texts = new java.util.ArrayList<>();
            String body = randomEntity(random, texts, 0, "top" + round);
            String message = "From: a@example.org\r\nMIME-Version: 1.0\r\n" + body;
            byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
            Result r = convert(bytes, 1 + random.nextInt(200));
            assertThat(r.refusal()).as("round %d", round).isNull();
            assertThat(r.text()).isEqualTo(convert(bytes, bytes.length).text());
            assertSevenBitWithCrlfAndShortLines(r);
            java.util.List<String> decodedTexts = new java.util.ArrayList<>();
            collect(r.parsed(), decodedTexts);
            assertThat(decodedTexts).as("round %d:\n%s", round, r.text()).isEqualTo(texts);
        }
    }

    /** A random entity (headers from Content-Type on, then its body); its text leaves' contents go to texts. */
    private static String randomEntity(java.util.Random random, java.util.List<String> texts, int depth,
                                       String boundary) {
        if (depth < 3 && random.nextInt(3) == 0) {
            StringBuilder sb = new StringBuilder("Content-Type: multipart/" + (random.nextBoolean() ? "mixed"
                    : "alternative") + "; boundary=\"" + boundary + "\"\r\n"
                    + (random.nextBoolean() ? "Content-Transfer-Encoding: 8bit\r\n" : "") + "\r\npreamble\r\n");
            int parts = 1 + random.nextInt(3);
            for (int i = 0; i < parts; i++) {
                sb.append("--").append(boundary).append("\r\n")
                        .append(randomEntity(random, texts, depth + 1, boundary + "." + i)).append("\r\n");
            }
            return sb.append("--").append(boundary).append("--\r\n").toString();
        }
        StringBuilder text = new StringBuilder();
        String alphabet = "abc xyz.=\t-\u00e9\u00fc\u20ac\ud83d\ude00";
        int lines = random.nextInt(5);
        for (int i = 0; i < lines; i++) {
            int len = random.nextInt(i == 2 ? 3000 : 90); // some longer than the 1 KiB line prefix
            for (int j = 0; j < len; j++) {
                int k = random.nextInt(alphabet.length() - 1);
                if (Character.isHighSurrogate(alphabet.charAt(k))) {
                    text.append(alphabet, k, k + 2);
                } else if (!Character.isLowSurrogate(alphabet.charAt(k))) {
                    text.append(alphabet.charAt(k));
                }
            }
            if (i < lines - 1) {
                text.append("\r\n");
            }
        }
        if (depth == 0) {
            text.append("\r\n"); // the message's last line ending is the top part's (no delimiter follows)
        }
        texts.add(text.toString());
        String cte = switch (random.nextInt(3)) {
            case 0 -> "Content-Transfer-Encoding: 8bit\r\n";
            case 1 -> "Content-Transfer-Encoding: 7bit\r\n";
            default -> "";
        };
        return "Content-Type: text/plain; charset=utf-8\r\n" + cte + "\r\n" + text;
    }

    private static void collect(Part part, java.util.List<String> texts) throws Exception {
        if (part.isMimeType("multipart/*")) {
            Multipart mp = (Multipart) part.getContent();
            for (int i = 0; i < mp.getCount(); i++) {
                collect(mp.getBodyPart(i), texts);
            }
        } else {
            texts.add(decoded(part));
        }
    }

    @Test
    void convertedOutputIsAFixedPointOfItsOwnSize() {
        // the SIZE= of MAIL is the converting pass counted: converting the same bytes again gives as many
        byte[] b = ("Subject: s\r\n\r\n" + UMLAUTS.repeat(100) + "\r\n").getBytes(StandardCharsets.UTF_8);
        assertThat(convert(b, 4096).bytes()).isEqualTo(convert(b, 17).bytes());
        assertThat(Arrays.equals(convert(b, 4096).bytes(), b)).isFalse();
    }
}
