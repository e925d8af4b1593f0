package dev.relay.core.delivery;

import static org.assertj.core.api.Assertions.assertThat;


import dev.relay.config.TlsMode;
import dev.relay.core.delivery.Outcome.Delivered;
import dev.relay.core.delivery.Outcome.PermanentFailure;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.Body;
import dev.relay.testkit.TestUpstream;
import dev.relay.testkit.UpstreamSession;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.smtp.SmtpContent;
import jakarta.mail.Multipart;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue #17: an 8-bit message to an upstream that does not offer 8BITMIME goes as 7 bit, or not at all. */
class EightBitDowngradeTest {
    private static final MailAddress SENDER = MailAddress.of("alice@example.org");
    private static final MailAddress BOB = MailAddress.of("bob@example.net");
    private static final UpstreamTarget.Timeouts FAST = new UpstreamTarget.Timeouts(Duration.ofSeconds(2),
            Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(2));
    private static final String TEXT = "Gr\u00fc\u00dfe aus K\u00f6ln \u20ac\r\n.a line starting with a dot\r\n"
            + ".\r\nlast line\r\n";

    private static EventLoopGroup group;

    @TempDir
    Path dir;

    @BeforeAll
    static void setUp() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterAll
    static void tearDown() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    @Test
    void eightBitBodyToAnUpstreamWithout8bitmimeArrivesAsSevenBitWithTheSameDecodedText() throws Throwable {
        StringBuilder sb = new StringBuilder("From: alice@example.org\r\nSubject: plain\r\n\r\n");
        while (sb.length() < 3 * DotStuffedBody.CHUNK) {
            sb.append(TEXT); // several chunks: the conversion runs chunk by chunk inside the body writer
        }
        String content = sb.toString();
        Path file = body(content);
        long converted = SevenBitDowngrade.plan(Body.wholeFile(file)).size();
        AtomicReference<String> received = new AtomicReference<>();
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.hello("SIZE 10000000", "PIPELINING");
            c.expect("MAIL FROM:<alice@example.org> SIZE=" + converted); // no BODY=8BITMIME, the converted size
            c.expect("RCPT TO:<bob@example.net>");
            c.expect("DATA");
            c.reply("250 ok", "250 ok", "354 go ahead");
            received.set(c.readData());
            c.reply("250 2.0.0 ok");
        }); NettyDeliveryEngine engine = engine(server.port())) {
            DeliveryReport report = engine.deliver(envelope(), Body.of(file, Files.size(file)))
                    .get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().get(BOB)).isEqualTo(new Delivered("250 2.0.0 ok"));
            server.awaitScript();
        }
        String data = received.get();
        assertThat(data.chars().allMatch(ch -> ch < 128)).as("7-bit on the wire").isTrue();
        assertThat(data.length()).isEqualTo(converted);
        assertThat(data).startsWith("From: alice@example.org\r\nSubject: plain\r\nMIME-Version: 1.0\r\n");
        MimeMessage parsed = parse(data);
        try (InputStream in = parsed.getInputStream()) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8))
                    .isEqualTo(content.substring(content.indexOf("\r\n\r\n") + 4));
        }
    }

    @Test
    void multipartToAnUpstreamWithout8bitmimeHasItsEightBitPartsEncoded() throws Throwable {
        String content = "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n"
                + "--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                + TEXT + "--alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                + "<p>" + TEXT + "</p>\r\n--alt--\r\n";
        String received = deliveredOnce(content, "MAIL FROM:<alice@example.org>");
        assertThat(received.chars().allMatch(ch -> ch < 128)).isTrue();
        Multipart mp = (Multipart) parse(received).getContent();
        assertThat(mp.getBodyPart(0).getContent()).isEqualTo(TEXT.substring(0, TEXT.length() - 2));
        assertThat(mp.getBodyPart(1).getContent()).isEqualTo("<p>" + TEXT + "</p>");
    }

    @Test
    void unconvertibleMessageFailsPermanentlyAndIsNeverSent() throws Throwable {
        String content = "Subject: Gr\u00fc\u00dfe\r\n\r\n" + TEXT; // 8-bit in the header section
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.hello("PIPELINING");
            nothingButQuit(c); // no MAIL for this message
        })) {
            try (NettyDeliveryEngine engine = engine(server.port())) {
                Path file = body(content);
                DeliveryReport report = engine.deliver(envelope(), Body.of(file, Files.size(file)))
                        .get(10, TimeUnit.SECONDS);

                Outcome outcome = report.byRecipient().get(BOB);
                assertThat(outcome).isInstanceOf(PermanentFailure.class);
                assertThat(outcome.detail()).startsWith("554 5.6.3 conversion to 7 bit required but not possible: "
                        + "upstream 127.0.0.1:" + server.port() + " does not offer 8BITMIME")
                        .contains("8-bit bytes in a header section");
            }
            server.awaitScript();
        }
    }

    @Test
    void theUpstreamsSizeLimitIsCheckedAgainstTheConvertedSize() throws Throwable {
        String content = "Subject: s\r\n\r\n" + "\u00e9".repeat(60) + "\r\n"; // 137 bytes, 7-bit: 380
        Path file = body(content);
        long converted = SevenBitDowngrade.plan(Body.wholeFile(file)).size();
        assertThat(Files.size(file)).isLessThan(200);
        assertThat(converted).isGreaterThan(200);
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.hello("SIZE 200");
            nothingButQuit(c);
        })) {
            try (NettyDeliveryEngine engine = engine(server.port())) {
                DeliveryReport report = engine.deliver(envelope(), Body.of(file, Files.size(file)))
                        .get(10, TimeUnit.SECONDS);

                assertThat(report.byRecipient().get(BOB)).isEqualTo(new PermanentFailure("message size " + converted
                        + " (converted to 7 bit) exceeds the limit of 200 bytes of upstream 127.0.0.1:"
                        + server.port()));
            }
            server.awaitScript();
        }
    }

    @Test
    void eightBitBodyToAnUpstreamWith8bitmimeIsSentAsItIs() throws Throwable {
        String content = "Subject: plain\r\n\r\n" + TEXT;
        String received = deliveredOnce(content, "MAIL FROM:<alice@example.org> BODY=8BITMIME", "8BITMIME");
        assertThat(received).isEqualTo(content);
    }

    @Test
    void convertedBodyStillGoesThroughTheDotStuffer() throws Exception {
        Path file = body("Subject: dots\r\n\r\n" + TEXT);
        SevenBitDowngrade plan = SevenBitDowngrade.plan(Body.wholeFile(file));
        StringBuilder wire = new StringBuilder();
        SevenBitBody body = new SevenBitBody(Body.wholeFile(file), Files.size(file), plan);
        try {
            while (!body.isEndOfInput()) {
                SmtpContent chunk = body.readChunk(UnpooledByteBufAllocator.DEFAULT);
                wire.append(chunk.content().toString(StandardCharsets.US_ASCII));
                chunk.release();
            }
        } finally {
            body.close();
        }
        assertThat(wire.toString()).contains("\r\n..a line starting with a dot\r\n..\r\nlast line\r\n")
                .contains("Gr=C3=BC=C3=9Fe").doesNotContain("\r\n.\r\n");
        assertThat(wire.length()).isEqualTo(plan.size() + 2); // the two dots doubled; the codec adds ".\r\n"
    }

    /** The server keeps the connection open until the client ends it (with QUIT or not), and gets no command. */
    /**
     * Delivers {@code content} once to an upstream offering {@code extensions} that expects {@code mailLine}, and
     * returns the data it received (the delivery is asserted done with its 250).
     */
    private String deliveredOnce(String content, String mailLine, String... extensions) throws Throwable {
        AtomicReference<String> received = new AtomicReference<>();
        try (TestUpstream server = TestUpstream.scripted((n, c) -> {
            c.hello(extensions);
            c.expect(mailLine);
            c.reply("250 ok");
            c.expect("RCPT TO:<bob@example.net>");
            c.reply("250 ok");
            c.expect("DATA");
            c.reply("354 go ahead");
            received.set(c.readData());
            c.reply("250 2.0.0 ok");
        }); NettyDeliveryEngine engine = engine(server.port())) {
            Path file = body(content);
            DeliveryReport report = engine.deliver(envelope(), Body.of(file, Files.size(file)))
                    .get(10, TimeUnit.SECONDS);

            assertThat(report.byRecipient().get(BOB)).isEqualTo(new Delivered("250 2.0.0 ok"));
            server.awaitScript();
        }
        return received.get();
    }

    private static void nothingButQuit(UpstreamSession c) throws java.io.IOException {
        String next = c.read();
        if (next != null && !next.equalsIgnoreCase("QUIT")) {
            throw new AssertionError("expected nothing but QUIT, the client sent " + next);
        }
    }

    private static MimeMessage parse(String data) throws Exception {
        return new MimeMessage(Session.getInstance(new Properties()),
                new ByteArrayInputStream(data.getBytes(StandardCharsets.US_ASCII)));
    }

    private static NettyDeliveryEngine engine(int port) {
        return new NettyDeliveryEngine(new UpstreamTarget("test-upstream", "127.0.0.1", port, TlsMode.NONE, null,
                null, null, FAST), group, "relay.test");
    }

    private static Envelope envelope() {
        return Envelope.received(QueueId.next(Instant.now()), SENDER, List.of(BOB), Instant.now(), "alice");
    }

    private Path body(String content) throws Exception {
        Path file = Files.createTempFile(dir, "body", ".eml");
        Files.writeString(file, content, StandardCharsets.UTF_8);
        return file;
    }
}
