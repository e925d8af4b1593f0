package dev.relay.core.spool;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A reader of a {@link Body} gets the message and nothing of the trailer the spool keeps after it. */
class SpoolBodyTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "hard links: {0}")
    @ValueSource(booleans = {true, false})
    void aStoredBodyReadsExactlyTheMessageNotTheTrailerAfterIt(boolean links) throws Exception {
        String message = "Subject: hi\r\n\r\nbody\r\n";
        Instant now = Instant.now();
        Envelope e = Envelope.received(QueueId.next(now), MailAddress.of("a@example.com"),
                List.of(MailAddress.of("b@example.com")), now, "demo");
        try (Spool spool = Spool.open(dir, new SpoolSettings(0), () -> Long.MAX_VALUE, System::nanoTime, links)) {
            spool.store(e, new ByteArrayInputStream(message.getBytes(StandardCharsets.UTF_8)));
            long size = spool.load(QueueState.INCOMING, e.id()).orElseThrow().bodySize();
            assertThat(Files.size(spool.bodyPath(e.id()))).as("the file has a trailer").isGreaterThan(size);

            Body body = spool.body(e.id(), size);
            assertThat(body.knownSize()).isEqualTo(message.length());
            for (int i = 0; i < 2; i++) { // each open reads it again
                try (InputStream in = body.open()) {
                    assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(message);
                }
            }
        }
    }

    @Test
    void aWholeFileBodyReadsTheWholeFile() throws Exception {
        Path copy = Files.writeString(dir.resolve("copy.eml"), "Subject: x\r\n\r\ny\r\n");
        Body body = Body.wholeFile(copy);
        assertThat(body.knownSize()).isEqualTo(-1);
        try (InputStream in = body.open()) {
            assertThat(in.readAllBytes()).isEqualTo(Files.readAllBytes(copy));
        }
    }

    @Test
    void aPrefixIsReadFirstAndCountedWhileTheFileStaysAsItWas() throws Exception {
        String message = "Subject: x\r\n\r\ny\r\n";
        Path file = Files.writeString(dir.resolve("spooled.eml"), message + "TRAILER");
        byte[] field = "DKIM-Signature: v=1; b=x\r\n".getBytes(StandardCharsets.US_ASCII);

        Body signed = Body.of(file, message.length()).withPrefix(field);
        Body twice = signed.withPrefix("X-First: 1\r\n".getBytes(StandardCharsets.US_ASCII));

        assertThat(signed.knownSize()).isEqualTo(field.length + message.length());
        try (InputStream in = twice.open()) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII))
                    .isEqualTo("X-First: 1\r\nDKIM-Signature: v=1; b=x\r\n" + message);
        }
        assertThat(Files.readString(file)).isEqualTo(message + "TRAILER");
        assertThat(Body.wholeFile(file).withPrefix(field).knownSize()).isEqualTo(-1);
    }
}
