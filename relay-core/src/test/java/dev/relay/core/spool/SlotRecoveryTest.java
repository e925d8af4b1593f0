package dev.relay.core.spool;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What recovery makes of every state a slot can be left in by a crash. A message is acknowledged once its slot file
 * is synced; its names in data/ and incoming/ and the checkpoint past it come later (the applier). The states are
 * written here byte for byte as a crash would leave them, then the spool is opened on them.
 */
class SlotRecoveryTest {
    private static final String BODY = "Subject: kept\r\n\r\nacknowledged with 250\r\n";

    @TempDir
    Path dir;

    @BeforeEach
    void layout() throws Exception {
        Spool.open(dir).close(); // directories and a checkpoint of 0
    }

    private static Envelope envelope() {
        Instant now = Instant.parse("2026-11-24T01:00:00Z");
        return Envelope.received(QueueId.next(now), MailAddress.of("a@example.com"),
                List.of(MailAddress.of("b@example.com")), now, "demo");
    }

    /** A slot file as the spool writes it: body, envelope, footer with sequence number and CRC. */
    private Path writeSlot(String name, Envelope e, String body, long seq) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        byte[] env = EnvelopeCodec.encode(e, b.length);
        CRC32C crc = new CRC32C();
        crc.update(b);
        crc.update(env);
        Path slot = dir.resolve("slots").resolve(name);
        try (FileChannel ch = FileChannel.open(slot, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap(b));
            ch.write(ByteBuffer.wrap(env));
            ch.write(SpoolFiles.slotFooter(seq, crc.getValue(), env.length));
        }
        return slot;
    }

    private void writeCheckpoint(long value) throws IOException {
        try (FileChannel ch = FileChannel.open(dir.resolve("checkpoint"), StandardOpenOption.WRITE)) {
            ch.write(SpoolFiles.checkpoint(value), 0);
        }
    }

    private static String read(Spool spool, QueueState state, QueueId id) throws Exception {
        Spool.Stored s = spool.load(state, id).orElseThrow();
        try (InputStream in = BodyInput.open(spool.bodyPath(id), s.bodySize())) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void aMessageWhoseNamesWereLostComesBackFromItsSlot() throws Exception {
        Envelope e = envelope();
        writeCheckpoint(7);
        Path slot = writeSlot("n3", e, BODY, 7); // synced and acknowledged; data/, incoming/ and checkpoint not
        try (Spool spool = Spool.open(dir)) {
            assertThat(spool.list(QueueState.INCOMING)).containsExactly(e.id());
            assertThat(spool.load(QueueState.INCOMING, e.id()).orElseThrow().envelope()).isEqualTo(e);
            assertThat(read(spool, QueueState.INCOMING, e.id())).isEqualTo(BODY);
            assertThat(slot).as("the file now has its message's names instead").doesNotExist();
            Envelope next = envelope();
            spool.store(next, new ByteArrayInputStream("Subject: n\r\n\r\nn\r\n".getBytes()));
            assertThat(read(spool, QueueState.INCOMING, e.id())).as("not overwritten by the next message")
                    .isEqualTo(BODY);
        }
        try (Spool spool = Spool.open(dir)) { // and only once
            assertThat(spool.list(QueueState.INCOMING)).hasSize(2).contains(e.id());
        }
    }

    @Test
    void aSlotTornByTheCrashIsNotAMessage() throws Exception {
        Envelope e = envelope();
        Path slot = writeSlot("n3", e, BODY, 0);
        try (FileChannel ch = FileChannel.open(slot, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {'X'}), 3); // the sync never finished: old bytes in the middle
        }
        try (Spool spool = Spool.open(dir)) {
            assertThat(spool.list(QueueState.INCOMING)).isEmpty();
            assertThat(dir.resolve("data")).isEmptyDirectory();
            assertThat(slot).as("a free slot").exists();
        }
    }

    @Test
    void aSlotBelowTheCheckpointIsTheStaleContentOfAReusedFile() throws Exception {
        Envelope delivered = envelope();
        writeCheckpoint(12);
        Path slot = writeSlot("n3", delivered, BODY, 11); // a delivered message's file, back in the pool
        try (Spool spool = Spool.open(dir)) {
            assertThat(spool.list(QueueState.INCOMING)).isEmpty();
            assertThat(slot).as("a free slot").exists();
            Envelope next = envelope();
            spool.store(next, new ByteArrayInputStream("Subject: n\r\n\r\nnew\r\n".getBytes()));
            assertThat(read(spool, QueueState.INCOMING, next.id())).isEqualTo("Subject: n\r\n\r\nnew\r\n");
        }
    }

    /** A message stored, attempted and deferred: its entry is an envelope file of its own in deferred/. */
    private Envelope storedAndDeferred() throws Exception {
        Envelope e = envelope();
        try (Spool spool = Spool.open(dir)) {
            long size = spool.store(e, new ByteArrayInputStream(BODY.getBytes(StandardCharsets.UTF_8)));
            spool.move(e.id(), QueueState.INCOMING, QueueState.ACTIVE);
            spool.update(e.deferred(e.recipients(), e.receivedAt().plusSeconds(60), "451 4.3.0 later"), size,
                    QueueState.ACTIVE, QueueState.DEFERRED);
        }
        return e;
    }

    @Test
    void aSlotOfAMessageThatMovedOnIsNotADuplicate() throws Exception {
        Envelope e = storedAndDeferred();
        // the crash came before the slot's name was removed and the checkpoint written (but after the deferral)
        writeCheckpoint(0);
        Path slot = dir.resolve("slots").resolve("n999");
        Files.createLink(slot, dir.resolve("data").resolve(e.id().value()));
        try (Spool spool = Spool.open(dir)) {
            assertThat(spool.list(QueueState.INCOMING)).isEmpty();
            assertThat(spool.list(QueueState.DEFERRED)).containsExactly(e.id());
            assertThat(read(spool, QueueState.DEFERRED, e.id())).isEqualTo(BODY);
            assertThat(slot).doesNotExist();
        }
    }

    @Test
    void aSlotWhoseDataNameWasLostGivesItBackToAMessageInAState() throws Exception {
        Envelope e = storedAndDeferred();
        writeCheckpoint(0);
        Path slot = dir.resolve("slots").resolve("n999");
        Files.move(dir.resolve("data").resolve(e.id().value()), slot); // data/ name not durable, slot name is
        try (Spool spool = Spool.open(dir)) {
            assertThat(spool.list(QueueState.DEFERRED)).containsExactly(e.id());
            assertThat(spool.list(QueueState.INCOMING)).isEmpty();
            assertThat(read(spool, QueueState.DEFERRED, e.id())).isEqualTo(BODY);
        }
    }

    @Test
    void aSlotNameLeftOnAMessagesFileIsDroppedNeverReused() throws Exception {
        Envelope e = envelope();
        try (Spool spool = Spool.open(dir)) {
            spool.store(e, new ByteArrayInputStream(BODY.getBytes(StandardCharsets.UTF_8)));
        } // applied: the checkpoint is past it, its slot name removed
        Path slot = dir.resolve("slots").resolve("n999");
        Files.createLink(slot, dir.resolve("data").resolve(e.id().value())); // that removal did not reach the disk
        try (Spool spool = Spool.open(dir)) {
            assertThat(slot).doesNotExist();
            for (int i = 0; i < 20; i++) {
                spool.store(envelope(), new ByteArrayInputStream(("Subject: " + i + "\r\n\r\nx\r\n").getBytes()));
            }
            assertThat(read(spool, QueueState.INCOMING, e.id())).isEqualTo(BODY);
        }
    }

    @Test
    void aDeliveredMessageDoesNotComeBackFromItsSlot() throws Exception {
        Envelope e = envelope();
        try (Spool spool = Spool.open(dir)) {
            spool.store(e, new ByteArrayInputStream(BODY.getBytes(StandardCharsets.UTF_8)));
            spool.move(e.id(), QueueState.INCOMING, QueueState.ACTIVE);
            spool.remove(e.id(), QueueState.ACTIVE); // waits for the checkpoint to pass it first
            assertThat(spool.commitStats().messages()).as("applied before its removal").isEqualTo(1);
        }
        try (Spool spool = Spool.open(dir)) {
            assertThat(spool.list(QueueState.INCOMING)).isEmpty();
        }
    }

    @Test
    void anUnreadableCheckpointTakesEveryWholeSlotAsAMessage() throws Exception {
        Envelope e = envelope();
        writeSlot("n3", e, BODY, 5);
        Files.write(dir.resolve("checkpoint"), new byte[24]); // torn
        try (Spool spool = Spool.open(dir)) {
            assertThat(spool.list(QueueState.INCOMING)).containsExactly(e.id()); // a duplicate at worst, no loss
        }
    }

    @Test
    void theReusePoolOfAnOlderReleaseIsRemoved() throws Exception {
        Path old = Files.createDirectories(dir.resolve("recycle"));
        Files.writeString(old.resolve("1"), "delivered long ago");
        try (Spool spool = Spool.open(dir)) {
            assertThat(old).doesNotExist();
            assertThat(spool.list(QueueState.INCOMING)).isEmpty();
        }
    }
}
