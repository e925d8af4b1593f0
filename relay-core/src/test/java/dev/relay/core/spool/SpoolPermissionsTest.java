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
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
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

    /**
     * A spool made by a release before 0600/0700 (umask 022: directories 0755, files 0644) is closed to other users
     * at open, once, with one INFO line: its own directories become 0700, the root (an operator's or a package's,
     * 0750 for a group is kept) loses only other users' permissions. That denies them every file inside; files
     * keep their mode (see SpoolRecovery for why).
     */
    @Test
    void directoriesLeftOpenByAnOlderVersionAreMadeOwnerOnlyAtOpen() throws Exception {
        Path root = dir.resolve("old");
        Envelope e = envelope();
        try (Spool spool = Spool.open(root)) {
            spool.store(e, new ByteArrayInputStream("Subject: a\r\n\r\na\r\n".getBytes()));
        }
        Set<PosixFilePermission> dir755 = PosixFilePermissions.fromString("rwxr-xr-x");
        Set<PosixFilePermission> file644 = PosixFilePermissions.fromString("rw-r--r--");
        try (Stream<Path> all = Files.walk(root)) { // as an older release left it
            for (Path p : (Iterable<Path>) all::iterator) {
                Files.setPosixFilePermissions(p, Files.isDirectory(p) ? dir755 : file644);
            }
        }

        Logger logger = (Logger) LoggerFactory.getLogger(Spool.class);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        logger.addAppender(logs);
        try {
            try (Spool spool = Spool.open(root)) {
                assertThat(spool.load(QueueState.INCOMING, e.id())).isPresent();
            }
            try (Spool spool = Spool.open(root)) {
                assertThat(spool.list(QueueState.INCOMING)).containsExactly(e.id());
            }
        } finally {
            logger.detachAppender(logs);
        }

        Map<String, String> open = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                String perms = PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
                String expected = p.equals(root) ? "rwxr-x---" : "rwx------";
                if (Files.isDirectory(p) && !perms.equals(expected)) {
                    open.put(root.relativize(p).toString(), perms);
                }
            }
        }
        assertThat(open).as("directories open to others (the root keeps its group)").isEmpty();
        List<String> told = logs.list.stream().filter(l -> l.getLevel() == Level.INFO)
                .map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains("made private")).toList();
        assertThat(told).as("one INFO line, at the first open only").hasSize(1);
        assertThat(told.get(0)).contains(root.toString()).contains("data").contains("incoming");
    }
}
