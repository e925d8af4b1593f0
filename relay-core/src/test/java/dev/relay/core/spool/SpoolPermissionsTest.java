package dev.relay.core.spool;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mail is private: whatever the process umask (022 in the demo, which made bodies 0644), every directory the
 * spool makes is 0700 and every file 0600, from its creation on (no window in which another user could open it).
 */
class SpoolPermissionsTest {
    @TempDir
    Path dir;

    private static Envelope envelope() {
        Instant now = Instant.now();
        return Envelope.received(QueueId.next(now), MailAddress.of("a@example.com"),
                List.of(MailAddress.of("b@example.com")), now, "demo");
    }

    @ParameterizedTest(name = "hard links: {0}")
    @ValueSource(booleans = {true, false})
    void everyFileAndDirectoryTheSpoolCreatesIsOwnerOnly(boolean links) throws Exception {
        Path root = dir.resolve("spool");
        try (Spool spool = Spool.open(root, new SpoolSettings(0), () -> Long.MAX_VALUE, System::nanoTime, links)) {
            Envelope deferred = envelope();
            spool.store(deferred, new ByteArrayInputStream("Subject: a\r\n\r\na\r\n".getBytes()));
            spool.move(deferred.id(), QueueState.INCOMING, QueueState.ACTIVE);
            spool.update(deferred.deferred(deferred.recipients(), Instant.now().plusSeconds(60), "451 later"), 17,
                    QueueState.ACTIVE, QueueState.DEFERRED);
            Envelope delivered = envelope();
            spool.store(delivered, new ByteArrayInputStream("Subject: b\r\n\r\nb\r\n".getBytes()));
            spool.move(delivered.id(), QueueState.INCOMING, QueueState.ACTIVE);
            spool.remove(delivered.id(), QueueState.ACTIVE); // its body file goes to slots/ for reuse
            spool.store(envelope(), new ByteArrayInputStream("Subject: c\r\n\r\nc\r\n".getBytes()));
            spool.storageProblem();

            Map<String, String> wrong = new TreeMap<>();
            int files = 0;
            try (Stream<Path> all = Files.walk(root)) {
                for (Path p : (Iterable<Path>) all::iterator) {
                    String perms = PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
                    boolean isDir = Files.isDirectory(p);
                    files += isDir ? 0 : 1;
                    if (!perms.equals(isDir ? "rwx------" : "rw-------")) {
                        wrong.put(root.relativize(p).toString(), perms);
                    }
                }
            }
            assertThat(files).as("bodies, envelopes, slots, lock, checkpoint").isGreaterThanOrEqualTo(4);
            assertThat(wrong).isEmpty();
        }
    }
}
