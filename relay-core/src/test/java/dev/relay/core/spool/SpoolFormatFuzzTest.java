package dev.relay.core.spool;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * Coverage-guided fuzzing of what the spool reads back from disk: the envelope codec and the files of
 * {@link SpoolFiles} (a body file's trailer, a slot file, a state file, the checkpoint). A torn or hostile file is
 * refused (a {@link SpoolException} from the codec, an empty result from the readers), never taken for another
 * message and never a crash. {@code mvn verify} replays the corpus in
 * {@code src/test/resources/dev/relay/core/spool/SpoolFormatFuzzTestInputs/}; docs/testing.md says how to fuzz
 * for hours.
 */
class SpoolFormatFuzzTest {
    private static final Path FILE;

    static {
        try {
            FILE = Files.createTempFile("relay-spool-fuzz", ".bin");
            FILE.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Any bytes as an envelope file: refused with a SpoolException, or decoded to what re-encodes the same. */
    @FuzzTest(maxDuration = "5s")
    void envelopeBytesDecodeOrAreRefused(byte[] bytes) {
        checkDecode(bytes);
        // the same content behind a valid end line, so that the fuzzer gets past the checksum to the fields
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n') {
            end--;
        }
        byte[] content = Arrays.copyOf(bytes, end);
        checkDecode(withEndLine(content));
    }

    private static void checkDecode(byte[] bytes) {
        EnvelopeCodec.Decoded decoded;
        try {
            decoded = EnvelopeCodec.decode(bytes);
        } catch (SpoolException e) {
            assertThat(e.getMessage()).isNotBlank();
            return;
        }
        assertThat(decoded.bodySize()).isNotNegative();
        byte[] again = EnvelopeCodec.encode(decoded.envelope(), decoded.bodySize());
        try {
            EnvelopeCodec.Decoded twice = EnvelopeCodec.decode(again);
            assertThat(twice).isEqualTo(decoded);
        } catch (SpoolException e) {
            throw new AssertionError("a decoded envelope does not decode once re-encoded: " + e.getMessage(), e);
        }
    }

    /** Any envelope the relay can hold comes back equal from its file. */
    @FuzzTest(maxDuration = "5s")
    void envelopeRoundTrips(FuzzedDataProvider data) throws SpoolException {
        Envelope envelope;
        long size;
        try {
            Instant received = Instant.ofEpochMilli(data.consumeLong(0, 1L << 45));
            QueueId id = data.consumeBoolean() ? QueueId.next(received) : new QueueId(data.consumeString(24));
            MailAddress sender = new MailAddress(validText(data.consumeString(80)));
            List<MailAddress> rcpts = new ArrayList<>();
            int n = data.consumeInt(1, 4);
            for (int i = 0; i < n; i++) {
                rcpts.add(new MailAddress(validText(data.consumeString(80))));
            }
            envelope = new Envelope(id, sender, rcpts, received, validText(data.consumeString(40)),
                    data.consumeInt(0, Integer.MAX_VALUE), Instant.ofEpochMilli(data.consumeLong(0, 1L << 45)),
                    validText(data.consumeString(200)), data.consumeBoolean(), data.consumeBoolean());
            size = data.consumeLong() & Long.MAX_VALUE; // consumeLong(0, Long.MAX_VALUE) gave negative values
        } catch (IllegalArgumentException e) {
            return; // not an envelope the relay can make
        }
        byte[] encoded = EnvelopeCodec.encode(envelope, size);
        EnvelopeCodec.Decoded decoded;
        try {
            decoded = EnvelopeCodec.decode(encoded);
        } catch (SpoolException e) {
            throw new AssertionError(e.getMessage() + " in " + new String(encoded, StandardCharsets.UTF_8), e);
        }
        assertThat(decoded.envelope()).isEqualTo(envelope);
        assertThat(decoded.bodySize()).isEqualTo(size);
    }

    /**
     * A real slot file (body, envelope, footer as {@code Spool.storeInSlot} writes them), then torn or altered at a
     * place the fuzzer picks: read back whole only when it is unchanged, else refused. The footer's sequence number
     * is outside the CRC by design (a torn footer with the old number and the new CRC reads as stale: the message
     * was not acknowledged yet), so a changed number is not a change this test makes.
     */
    @FuzzTest(maxDuration = "5s")
    void tornOrAlteredSlotIsRefused(FuzzedDataProvider data) throws IOException {
        Instant now = Instant.ofEpochMilli(data.consumeLong(0, 1L << 45));
        Envelope envelope = Envelope.received(QueueId.next(now), MailAddress.of("a@example.com"),
                List.of(MailAddress.of("b@example.com")), now, "alice");
        byte[] body = data.consumeBytes(data.consumeInt(0, 4096));
        long seq = data.consumeLong();
        byte[] slot = slotFile(envelope, body, seq);
        byte[] changed = switch (data.consumeInt(0, 3)) {
            case 0 -> slot.clone();
            case 1 -> Arrays.copyOf(slot, data.consumeInt(0, slot.length)); // torn: a prefix reached the disk
            case 2 -> { // one byte changed (not in the sequence number: the CRC does not cover it, see below)
                byte[] c = slot.clone();
                int at = data.consumeInt(0, c.length - SpoolFiles.SLOT_FOOTER_LENGTH + 7);
                if (at >= c.length - SpoolFiles.SLOT_FOOTER_LENGTH) {
                    at += 8;
                }
                c[at] ^= (byte) data.consumeInt(1, 255);
                yield c;
            }
            default -> { // stale content of a longer file after it
                byte[] tail = data.consumeRemainingAsBytes();
                byte[] c = Arrays.copyOf(slot, slot.length + tail.length);
                System.arraycopy(tail, 0, c, slot.length, tail.length);
                yield c;
            }
        };
        Files.write(FILE, changed);
        Optional<SpoolFiles.SlotContent> read = SpoolFiles.readSlot(FILE);
        if (Arrays.equals(changed, slot)) {
            assertThat(read).isPresent();
            assertThat(read.get().seq()).isEqualTo(seq);
            assertThat(read.get().decoded().envelope()).isEqualTo(envelope);
            assertThat(read.get().decoded().bodySize()).isEqualTo(body.length);
        } else {
            assertThat(read).as("a torn or altered slot file is never read as a message").isEmpty();
        }
        Optional<EnvelopeCodec.Decoded> trailer = SpoolFiles.readTrailer(FILE);
        if (trailer.isPresent()) {
            assertWholeTrailer(changed, trailer.get());
        }
    }

    /** Any bytes as a spool file: every reader answers (empty when it is not one of its files), none throws. */
    @FuzzTest(maxDuration = "5s")
    void hostileSpoolFileIsRefusedNotMisread(byte[] bytes) throws IOException {
        Files.write(FILE, bytes);
        Optional<SpoolFiles.SlotContent> slot = SpoolFiles.readSlot(FILE);
        if (slot.isPresent()) {
            CRC32C crc = new CRC32C();
            crc.update(bytes, 0, bytes.length - SpoolFiles.SLOT_FOOTER_LENGTH);
            ByteBuffer footer = ByteBuffer.wrap(bytes, bytes.length - SpoolFiles.SLOT_FOOTER_LENGTH,
                    SpoolFiles.SLOT_FOOTER_LENGTH);
            assertThat(footer.getLong()).isEqualTo(slot.get().seq());
            assertThat(footer.getLong()).as("the CRC in the footer").isEqualTo(crc.getValue());
            assertWholeTrailer(bytes, slot.get().decoded());
        }
        Optional<EnvelopeCodec.Decoded> trailer = SpoolFiles.readTrailer(FILE);
        if (trailer.isPresent()) {
            assertWholeTrailer(bytes, trailer.get());
        }
        byte[] state = SpoolFiles.readStateFile(FILE);
        if (state != null && state.length > 0) {
            assertThat(state).isEqualTo(bytes);
        }
        Optional<Long> checkpoint = SpoolFiles.readCheckpoint(FILE);
        if (checkpoint.isPresent()) {
            assertThat(bytes.length).isGreaterThanOrEqualTo(SpoolFiles.CHECKPOINT_LENGTH);
            assertThat(ByteBuffer.wrap(bytes, 0, 24).getLong(8)).isEqualTo(checkpoint.get());
        }
    }

    /** A trailer read from {@code file}: the body it promises, then its envelope, then a footer, fill the file. */
    private static void assertWholeTrailer(byte[] file, EnvelopeCodec.Decoded decoded) {
        long magic = ByteBuffer.wrap(file, file.length - 8, 8).getLong();
        int footer = magic == 0x524c59454e563031L ? SpoolFiles.FOOTER_LENGTH : SpoolFiles.SLOT_FOOTER_LENGTH;
        long envelopeLength = ByteBuffer.wrap(file, file.length - 16, 8).getLong();
        assertThat(decoded.bodySize() + envelopeLength + footer).isEqualTo(file.length);
    }

    static byte[] slotFile(Envelope envelope, byte[] body, long seq) {
        byte[] env = EnvelopeCodec.encode(envelope, body.length);
        CRC32C crc = new CRC32C();
        crc.update(body);
        crc.update(env);
        ByteBuffer footer = SpoolFiles.slotFooter(seq, crc.getValue(), env.length);
        byte[] out = new byte[body.length + env.length + footer.remaining()];
        System.arraycopy(body, 0, out, 0, body.length);
        System.arraycopy(env, 0, out, body.length, env.length);
        footer.get(out, body.length + env.length, footer.remaining());
        return out;
    }

    private static byte[] withEndLine(byte[] content) {
        CRC32C crc = new CRC32C();
        crc.update(content);
        byte[] end = ("end " + Long.toHexString(crc.getValue()) + "\n").getBytes(StandardCharsets.UTF_8);
        byte[] out = Arrays.copyOf(content, content.length + end.length);
        System.arraycopy(end, 0, out, content.length, end.length);
        return out;
    }

    /** Text as the relay's strings hold it: no unpaired surrogates (UTF-8 decoding never makes one). */
    private static String validText(String s) {
        return new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
    }
}
