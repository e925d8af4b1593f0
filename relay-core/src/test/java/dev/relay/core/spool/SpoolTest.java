package dev.relay.core.spool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolTest {
    @TempDir
    Path dir;

    private static Envelope envelope(String... rcpts) {
        Instant now = Instant.parse("2026-11-23T10:00:00Z");
        return Envelope.received(QueueId.next(now), MailAddress.of("a@example.com"),
                java.util.Arrays.stream(rcpts).map(MailAddress::of).toList(), now, "demo");
    }

    private static InputStream body(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void storedMessageIsReadBackWholeAfterReopening() throws Exception {
        Envelope e = envelope("b@example.com", "c@example.com");
        try (Spool spool = Spool.open(dir)) {
            assertThat(spool.store(e, body("Subject: hi\r\n\r\nbody\r\n"))).isEqualTo(21);
        }
        try (Spool spool = Spool.open(dir)) {
            assertThat(spool.list(QueueState.INCOMING)).containsExactly(e.id());
            Spool.Stored s = spool.load(QueueState.INCOMING, e.id()).orElseThrow();
            assertThat(s.envelope()).isEqualTo(e);
            assertThat(new String(BodyInput.open(spool.bodyPath(e.id()), s.bodySize()).readAllBytes(),
                    StandardCharsets.UTF_8)).isEqualTo("Subject: hi\r\n\r\nbody\r\n");
        }
    }

    @Test
    void failedBodyStreamLeavesNothingVisible() throws Exception {
        Envelope e = envelope("b@example.com");
        InputStream broken = new InputStream() {
            int n;

            @Override
            public int read() throws IOException {
                if (n++ > 100) {
                    throw new IOException("client went away");
                }
                return 'x';
            }
        };
        try (Spool spool = Spool.open(dir)) {
            assertThatThrownBy(() -> spool.store(e, broken)).isInstanceOf(SpoolException.class);
            assertThat(spool.list(QueueState.INCOMING)).isEmpty();
            assertThat(dir.resolve("tmp")).isEmptyDirectory();
            assertThat(dir.resolve("data")).isEmptyDirectory();
        }
    }

    @Test
    void secondProcessCannotOpenTheSameSpool() throws Exception {
        try (Spool spool = Spool.open(dir)) {
            assertThatThrownBy(() -> Spool.open(dir)).isInstanceOf(SpoolException.class)
                    .hasMessageContaining("in use by another relay process");
        }
    }

    @Test
    void recoveryRequeuesActiveAndRemovesUnacknowledgedLeftovers() throws Exception {
        Envelope e = envelope("b@example.com");
        try (Spool spool = Spool.open(dir)) {
            spool.store(e, body("x\r\n"));
            spool.move(e.id(), QueueState.INCOMING, QueueState.ACTIVE);
        }
        // a crash mid-commit of another message: a temp file and a body without envelope
        Files.writeString(dir.resolve("tmp").resolve("01JD4X3K8M-AAAAAAAA.body"), "partial");
        Files.writeString(dir.resolve("data").resolve("01JD4X3K8M-BBBBBBBB"), "never acknowledged");
        try (Spool spool = Spool.open(dir)) {
            assertThat(spool.list(QueueState.ACTIVE)).isEmpty();
            assertThat(spool.list(QueueState.INCOMING)).containsExactly(e.id());
            assertThat(dir.resolve("tmp")).isEmptyDirectory();
            assertThat(dir.resolve("data").resolve("01JD4X3K8M-BBBBBBBB")).doesNotExist();
            assertThat(spool.bodyPath(e.id())).exists();
        }
    }

    /** A spool as on a file system without hard links: new messages get an envelope file of their own. */
    private Spool withoutLinks() throws SpoolException {
        return Spool.open(dir, SpoolSettings.defaults(), () -> Long.MAX_VALUE, System::nanoTime, false);
    }

    @Test
    void newMessagesEntryInIncomingIsALinkToItsBodyFile() throws Exception {
        Envelope e = envelope("b@example.com", "c@example.com");
        try (Spool spool = Spool.open(dir)) {
            long size = spool.store(e, body("Subject: x\r\n\r\nx\r\n"));
            Path entry = dir.resolve("incoming").resolve(e.id().value());
            assertThat(Files.isSameFile(entry, spool.bodyPath(e.id()))).isTrue();
            assertThat(spool.load(QueueState.INCOMING, e.id()).orElseThrow())
                    .isEqualTo(new Spool.Stored(e, size));
            spool.move(e.id(), QueueState.INCOMING, QueueState.ACTIVE);
            Envelope later = e.deferred(List.of(MailAddress.of("c@example.com")), e.receivedAt().plusSeconds(60),
                    "451 4.3.0 later");
            spool.update(later, size, QueueState.ACTIVE, QueueState.DEFERRED); // now an envelope file of its own
            assertThat(Files.isSameFile(dir.resolve("deferred").resolve(e.id().value()), spool.bodyPath(e.id())))
                    .isFalse();
            assertThat(spool.load(QueueState.DEFERRED, e.id()).orElseThrow().envelope()).isEqualTo(later);
        }
        try (Spool spool = Spool.open(dir)) { // recovery keeps it
            assertThat(spool.list(QueueState.DEFERRED)).containsExactly(e.id());
            assertThat(spool.bodySize(QueueState.DEFERRED, e.id())).isGreaterThan(17);
        }
    }

    @Test
    void aBodyNameLostByACrashIsRestoredFromTheIncomingEntry() throws Exception {
        Envelope e = envelope("b@example.com");
        try (Spool spool = Spool.open(dir)) {
            spool.store(e, body("Subject: x\r\n\r\nkept\r\n"));
            // data/ is not fsynced at commit: after a power loss its new name may be gone, the inode is not
            Files.delete(spool.bodyPath(e.id()));
        }
        try (Spool spool = Spool.open(dir)) {
            Spool.Stored s = spool.load(QueueState.INCOMING, e.id()).orElseThrow();
            assertThat(s.envelope()).isEqualTo(e);
            try (InputStream in = BodyInput.open(spool.bodyPath(e.id()), s.bodySize())) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("Subject: x\r\n\r\nkept\r\n");
            }
        }
    }

    @Test
    void aHeldMessageNotYetAttemptedIsReadFromItsTrailer() throws Exception {
        Envelope e = envelope("b@example.com");
        try (Spool spool = Spool.open(dir)) {
            long size = spool.store(e, body("x\r\n"));
            spool.move(e.id(), QueueState.INCOMING, QueueState.HOLD);
            assertThat(spool.peek(QueueState.HOLD, e.id())).contains(new Spool.Stored(e, size));
            assertThat(spool.load(QueueState.HOLD, e.id())).contains(new Spool.Stored(e, size));
            assertThat(spool.list(QueueState.CORRUPT)).isEmpty();
        }
    }

    @Test
    void aBodyThatLooksLikeAnEnvelopeIsStillReadFromItsTrailer() throws Exception {
        Envelope e = envelope("b@example.com");
        String forged = "relay-envelope 1\nid 0000000000-00000000\nsender x@evil.example\nsize 1\nend 0\n";
        try (Spool spool = Spool.open(dir)) {
            spool.store(e, body(forged));
            assertThat(spool.load(QueueState.INCOMING, e.id()).orElseThrow().envelope()).isEqualTo(e);
        }
    }

    @Test
    void tornEnvelopeInIncomingIsReadFromTheBodysTrailer() throws Exception {
        Envelope e = envelope("b@example.com", "c@example.com");
        try (Spool spool = withoutLinks()) {
            spool.store(e, body("Subject: x\r\n\r\nx\r\n"));
        }
        // the envelope file is not fsynced at commit: after a power loss it may be empty or cut short
        Path env = dir.resolve("incoming").resolve(e.id().value());
        Files.write(env, new byte[0]);
        try (Spool spool = withoutLinks()) {
            Spool.Stored s = spool.load(QueueState.INCOMING, e.id()).orElseThrow();
            assertThat(s.envelope()).isEqualTo(e);
            assertThat(s.bodySize()).isEqualTo(17);
            assertThat(spool.peek(QueueState.INCOMING, e.id())).contains(s);
            assertThat(spool.list(QueueState.CORRUPT)).isEmpty();
        }
    }

    @Test
    void bodyFileCarriesTheEnvelopeAfterTheMessage() throws Exception {
        Envelope e = envelope("b@example.com");
        try (Spool spool = Spool.open(dir)) {
            long size = spool.store(e, body("hello\r\n"));
            Path file = spool.bodyPath(e.id());
            assertThat(Files.size(file)).isGreaterThan(size);
            EnvelopeCodec.Decoded trailer = SpoolFiles.readTrailer(file).orElseThrow();
            assertThat(trailer.envelope()).isEqualTo(e);
            assertThat(trailer.bodySize()).isEqualTo(size);
            try (InputStream in = BodyInput.open(file, size)) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("hello\r\n");
            }
        }
    }

    @Test
    void tornEnvelopeOfAnAttemptedMessageIsQuarantined() throws Exception {
        Envelope e = envelope("b@example.com");
        try (Spool spool = Spool.open(dir)) {
            long size = spool.store(e, body("x\r\n"));
            spool.update(e, size, QueueState.INCOMING, QueueState.DEFERRED);
            Path env = dir.resolve("deferred").resolve(e.id().value());
            byte[] bytes = Files.readAllBytes(env);
            Files.write(env, java.util.Arrays.copyOf(bytes, bytes.length - 10));
            // it was fsynced when written: torn now means damaged, and the trailer's copy would be out of date
            assertThat(spool.load(QueueState.DEFERRED, e.id())).isEmpty();
            assertThat(spool.list(QueueState.CORRUPT)).containsExactly(e.id());
        }
    }

    @Test
    void tornEnvelopeWithoutAUsableTrailerIsQuarantinedNotDeleted() throws Exception {
        Envelope e = envelope("b@example.com");
        try (Spool spool = withoutLinks()) {
            long size = spool.store(e, body("x\r\n"));
            Path env = dir.resolve("incoming").resolve(e.id().value());
            byte[] bytes = Files.readAllBytes(env);
            Files.write(env, java.util.Arrays.copyOf(bytes, bytes.length - 10));
            Path file = spool.bodyPath(e.id());
            byte[] all = Files.readAllBytes(file);
            all[(int) size + 20] ^= 1; // a damaged trailer fails its checksum
            Files.write(file, all);
            assertThat(spool.load(QueueState.INCOMING, e.id())).isEmpty();
            assertThat(dir.resolve("corrupt").resolve(e.id().value())).exists();
            assertThat(dir.resolve("corrupt").resolve(e.id().value() + ".body")).exists();
        }
    }

    @Test
    void bodyOfTheWrongSizeIsQuarantined() throws Exception {
        Envelope e = envelope("b@example.com");
        try (Spool spool = Spool.open(dir)) {
            spool.store(e, body("hello\r\n"));
            Files.writeString(spool.bodyPath(e.id()), "hel");
            assertThat(spool.load(QueueState.INCOMING, e.id())).isEmpty();
            assertThat(spool.list(QueueState.CORRUPT)).containsExactly(e.id());
        }
    }

    @Test
    void updateMovesTheNewEnvelopeAndRemoveDeletesBody() throws Exception {
        Envelope e = envelope("b@example.com", "c@example.com");
        try (Spool spool = Spool.open(dir)) {
            long size = spool.store(e, body("x\r\n"));
            spool.move(e.id(), QueueState.INCOMING, QueueState.ACTIVE);
            Envelope later = e.deferred(List.of(MailAddress.of("c@example.com")), e.receivedAt().plusSeconds(60),
                    "451 4.3.0 try\nagain");
            spool.update(later, size, QueueState.ACTIVE, QueueState.DEFERRED);
            assertThat(spool.list(QueueState.ACTIVE)).isEmpty();
            assertThat(spool.load(QueueState.DEFERRED, e.id()).orElseThrow().envelope()).isEqualTo(later);
            spool.remove(e.id(), QueueState.DEFERRED);
            assertThat(spool.list(QueueState.DEFERRED)).isEmpty();
            assertThat(spool.bodyPath(e.id())).doesNotExist();
        }
    }

    @Test
    void deliveredMessagesRemovedConcurrentlyAreGoneWithTheirBodies() throws Exception {
        int n = 24;
        List<Envelope> all = new java.util.ArrayList<>();
        try (Spool spool = Spool.open(dir)) {
            for (int i = 0; i < n; i++) {
                Envelope e = envelope("r" + i + "@example.com");
                spool.store(e, body("m" + i + "\r\n"));
                spool.move(e.id(), QueueState.INCOMING, QueueState.ACTIVE);
                all.add(e);
            }
            long before = spool.fsyncCount();
            try (var pool = java.util.concurrent.Executors.newFixedThreadPool(8)) {
                for (Envelope e : all) {
                    pool.submit(() -> {
                        spool.remove(e.id(), QueueState.ACTIVE);
                        return null;
                    });
                }
            }
            long fsyncs = spool.fsyncCount() - before;
            assertThat(fsyncs).as("one directory fsync per removal batch, never more than one per message")
                    .isBetween(1L, (long) n);
            assertThat(spool.list(QueueState.ACTIVE)).isEmpty();
            for (Envelope e : all) {
                assertThat(spool.bodyPath(e.id())).doesNotExist(); // gone when remove returned
            }
        }
        try (Spool spool = Spool.open(dir)) {
            assertThat(spool.list(QueueState.INCOMING)).isEmpty();
        }
    }

    @Test
    void aDeliveredBodysFileIsReusedForTheNextMessageWithNothingOfTheOldOne() throws Exception {
        Envelope first = envelope("b@example.com");
        Envelope second = envelope("c@example.com");
        String longBody = "Subject: old\r\n\r\n" + "secret old content\r\n".repeat(200);
        try (Spool spool = Spool.open(dir)) {
            spool.store(first, body(longBody));
            spool.move(first.id(), QueueState.INCOMING, QueueState.ACTIVE);
            Object inode = Files.readAttributes(spool.bodyPath(first.id()),
                    java.nio.file.attribute.BasicFileAttributes.class).fileKey();
            spool.remove(first.id(), QueueState.ACTIVE);
            assertThat(spool.bodyPath(first.id())).doesNotExist();

            long size = spool.store(second, body("Subject: new\r\n\r\nshort\r\n"));
            Path file = spool.bodyPath(second.id());
            if (inode != null) { // the same file, overwritten (where the file system exposes a file key)
                assertThat(Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class).fileKey())
                        .isEqualTo(inode);
            }
            assertThat(new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1)).doesNotContain("secret");
            Spool.Stored s = spool.load(QueueState.INCOMING, second.id()).orElseThrow();
            assertThat(s).isEqualTo(new Spool.Stored(second, size));
            try (InputStream in = BodyInput.open(file, size)) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8))
                        .isEqualTo("Subject: new\r\n\r\nshort\r\n");
            }
            assertThat(SpoolFiles.readTrailer(file).orElseThrow().envelope()).isEqualTo(second);
        }
    }

    @Test
    void aDeliveredMessagesReusableFileIsNotAMessageAfterAReopen() throws Exception {
        Envelope e = envelope("b@example.com");
        try (Spool spool = Spool.open(dir)) {
            spool.store(e, body("x\r\n"));
            spool.move(e.id(), QueueState.INCOMING, QueueState.ACTIVE);
            spool.remove(e.id(), QueueState.ACTIVE);
        }
        Path kept = null;
        for (String name : slotNames()) { // its file, whole trailer and all, kept for reuse
            Path p = dir.resolve("slots").resolve(name);
            if (SpoolFiles.readSlot(p).isPresent()) {
                kept = p;
            }
        }
        assertThat(kept).as("the delivered message's file in slots/").isNotNull();
        try (Spool spool = Spool.open(dir)) {
            assertThat(spool.list(QueueState.INCOMING)).as("stale: the checkpoint is past it").isEmpty();
            assertThat(kept).as("still a free slot").exists();
        }
    }

    /** The files in slots/, sorted by name. */
    private List<String> slotNames() throws IOException {
        try (var files = Files.list(dir.resolve("slots"))) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }
}
