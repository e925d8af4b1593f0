package dev.relay.core.spool;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class EnvelopeCodecTest {
    private static final Instant NOW = Instant.parse("2026-11-23T10:15:30Z");

    private static Envelope envelope(boolean smtputf8) {
        return Envelope.received(QueueId.next(NOW), MailAddress.of("a@example.com"),
                List.of(MailAddress.of("b@example.com")), NOW, "alice", smtputf8);
    }

    @Test
    void smtputf8EnvelopeSurvivesTheRoundTripAndIsWrittenAsALine() throws Exception {
        Envelope e = envelope(true);
        byte[] bytes = EnvelopeCodec.encode(e, 42);

        assertThat(new String(bytes, StandardCharsets.UTF_8)).contains("\nsmtputf8 true\n");
        EnvelopeCodec.Decoded d = EnvelopeCodec.decode(bytes);
        assertThat(d.envelope()).isEqualTo(e);
        assertThat(d.envelope().smtputf8()).isTrue();
        assertThat(d.bodySize()).isEqualTo(42);
    }

    @Test
    void plainEnvelopeRoundTripsWithoutTheSmtputf8Line() throws Exception {
        Envelope e = envelope(false);
        byte[] bytes = EnvelopeCodec.encode(e, 7);

        assertThat(new String(bytes, StandardCharsets.UTF_8)).doesNotContain("smtputf8");
        assertThat(EnvelopeCodec.decode(bytes).envelope()).isEqualTo(e);
    }

    @Test
    void deferringKeepsTheSmtputf8Need() throws Exception {
        Envelope later = envelope(true).deferred(List.of(MailAddress.of("b@example.com")), NOW.plusSeconds(60),
                "451 try later");

        assertThat(later.smtputf8()).isTrue();
        assertThat(EnvelopeCodec.decode(EnvelopeCodec.encode(later, 1)).envelope()).isEqualTo(later);
    }

    @Test
    void fileOfAnOlderVersionWithoutTheKeyReadsAsNotSmtputf8() throws Exception {
        String content = "relay-envelope 1\n"
                + "id 0123456789-ABCDEFGH\n"
                + "sender a@example.com\n"
                + "rcpt b@example.com\n"
                + "received " + NOW.toEpochMilli() + "\n"
                + "submitter alice\n"
                + "attempts 2\n"
                + "next " + NOW.toEpochMilli() + "\n"
                + "error \n"
                + "size 10\n";
        byte[] body = content.getBytes(StandardCharsets.UTF_8);
        CRC32C crc = new CRC32C();
        crc.update(body);
        byte[] file = (content + "end " + Long.toHexString(crc.getValue()) + "\n").getBytes(StandardCharsets.UTF_8);

        EnvelopeCodec.Decoded d = EnvelopeCodec.decode(file);

        assertThat(d.envelope().smtputf8()).isFalse();
        assertThat(d.envelope().delayWarned()).as("a spool of a version before delay warnings: not warned").isFalse();
        assertThat(d.envelope().attempts()).isEqualTo(2);
        assertThat(d.bodySize()).isEqualTo(10);
    }

    @Test
    void theDelayWarningIsALineThatSurvivesTheRoundTripAndLaterDeferrals() throws Exception {
        Envelope warned = envelope(false).withDelayWarned();
        byte[] bytes = EnvelopeCodec.encode(warned, 3);

        assertThat(new String(bytes, StandardCharsets.UTF_8)).contains("\nwarned true\n");
        assertThat(EnvelopeCodec.decode(bytes).envelope()).isEqualTo(warned);
        Envelope later = warned.deferred(warned.recipients(), NOW.plusSeconds(60), "451 try later")
                .notAttempted(warned.recipients(), NOW.plusSeconds(120), "circuit open");
        assertThat(EnvelopeCodec.decode(EnvelopeCodec.encode(later, 3)).envelope().delayWarned()).isTrue();
        assertThat(new String(EnvelopeCodec.encode(envelope(false), 3), StandardCharsets.UTF_8))
                .as("not warned: no line, as before").doesNotContain("warned");
    }
}
