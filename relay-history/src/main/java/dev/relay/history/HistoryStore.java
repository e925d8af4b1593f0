package dev.relay.history;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The history's SQLite file: opened in WAL mode, its schema migrated by Flyway ({@code db/history/V*.sql}), written
 * in batches by one thread ({@link #write}), read by any ({@link #search}, {@link #trace}). Two connections: the
 * writer's and one for reads, each used under its own lock (a WAL reader never waits for the writer).
 */
public final class HistoryStore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HistoryStore.class);
    static final int MAX_TEXT = 1024;

    private final Path file;
    private final Connection writer;
    private final Connection reader;
    private final HistoryWrites writes;
    private final HistoryReads reads;
    private final HistoryStats stats;

    private HistoryStore(Path file, boolean mask, Connection writer, Connection reader) throws SQLException {
        this.file = file;
        this.writer = writer;
        this.reader = reader;
        this.writes = new HistoryWrites(writer, mask);
        this.reads = new HistoryReads(reader, mask);
        this.stats = new HistoryStats(reader);
    }

    /**
     * Opens (creating it if needed) the history in {@code file} and brings its schema up to date.
     *
     * @param mask store addresses masked ({@code history.mask-addresses})
     */
    public static HistoryStore open(Path file, boolean mask) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        if (!Files.exists(file) && dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            // addresses are personal data: the owner's alone, like the spool (SQLite gives -wal and -shm the same)
            Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        }
        // sqlite-jdbc unpacks its native library into java.io.tmpdir unless told otherwise: a private or noexec
        // /tmp (systemd's PrivateTmp, a container's tmpfs) must not matter, and the history's directory is
        // writable wherever the history is
        if (System.getProperty("org.sqlite.tmpdir") == null) {
            System.setProperty("org.sqlite.tmpdir", dir.toString());
        }
        String url = "jdbc:sqlite:" + file.toAbsolutePath();
        Connection w = null;
        Connection r = null;
        try {
            w = DriverManager.getConnection(url);
            try (Statement s = w.createStatement()) {
                s.execute("PRAGMA auto_vacuum = INCREMENTAL"); // before the first table: freed pages can be returned
                s.execute("PRAGMA journal_mode = WAL");
                s.execute("PRAGMA synchronous = NORMAL"); // WAL: a crash may lose the last commits, never corrupts
                s.execute("PRAGMA busy_timeout = 5000");
            }
            migrate(url);
            w.setAutoCommit(false);
            r = DriverManager.getConnection(url);
            try (Statement s = r.createStatement()) {
                s.execute("PRAGMA busy_timeout = 5000");
                s.execute("PRAGMA query_only = true");
            }
            return new HistoryStore(file, mask, w, r);
        } catch (SQLException | RuntimeException e) {
            closeQuietly(r);
            closeQuietly(w);
            throw new IOException("cannot open the history " + file + " (history.path): " + e.getMessage(), e);
        }
    }

    private static void migrate(String url) {
        Flyway.configure(HistoryStore.class.getClassLoader()).dataSource(url, "", "")
                .locations("classpath:db/history").table("schema_history").load().migrate();
    }

    public Path file() {
        return file;
    }

    /** The schema version Flyway brought the file to. */
    public String schemaVersion() throws SQLException {
        synchronized (reader) {
            try (Statement s = reader.createStatement(); ResultSet rs = s.executeQuery(
                    "SELECT version FROM schema_history WHERE success = 1 ORDER BY installed_rank DESC")) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    /** Writes {@code records} in one transaction (the writer thread's call). */
    synchronized void write(List<HistoryRecord> records) throws SQLException {
        writes.write(records);
    }

    // ---- reading ----

    /** One message as a search lists it. */
    public record MessageSummary(String queueId, Instant receivedAt, String listener, String client, String user,
                                 boolean trusted, String tlsProtocol, String tlsCipher, long size, String sender,
                                 List<String> recipients, String messageId, String subject, String status,
                                 String upstream, String upstreamId, String dsnId, Instant updatedAt) {}

    /** One event of a message's timeline. */
    public record Event(Instant at, String kind, String recipient, String upstream, String host, Long durationMillis,
                        Integer code, String enhanced, String text, String upstreamId, Instant next, String detail) {}

    /** A message with its timeline. */
    public record Trace(MessageSummary message, List<Event> events) {}

    /** A page of a search, newest first; {@code next} is the {@code after} of the next page, or null. */
    public record Page(List<MessageSummary> messages, String next) {}

    /**
     * Search filters; null fields filter nothing. {@code sender} and {@code recipient}: the address when it has an
     * {@code @}, else a part of it (a domain, say). {@code status}: queued (not tried yet), delivered, deferred,
     * failed (and expired), expired, bounced, held, deleted.
     */
    public record Query(Instant since, Instant until, String sender, String recipient, String messageId,
                        String upstream, String status) {
        public static Query all() {
            return new Query(null, null, null, null, null, null, null);
        }
    }

    /** The messages matching {@code q}, newest first, at most {@code limit}, after the cursor {@code after}. */
    public Page search(Query q, String after, int limit) throws SQLException {
        return reads.search(q, after, limit);
    }

    /** The timelines of the messages {@code id} names: a queue id, a Message-ID or an upstream's id. */
    public List<Trace> trace(String id) throws SQLException {
        return reads.trace(id);
    }

    /** An upstream's failed attempt: when, its reply code (null: no reply), enhanced code and text. */
    public record UpstreamError(Instant at, Integer code, String enhanced, String text) {}

    /** Timeline events since {@code since} by kind: received, attempt, delivered, deferred, failed, hold, ... */
    public Map<String, Long> eventsByKind(Instant since) throws SQLException {
        return stats.eventsByKind(since);
    }

    /** Each upstream's newest failed attempt (4xx, 5xx or no reply) since {@code since}. */
    public Map<String, UpstreamError> lastErrors(Instant since) throws SQLException {
        return stats.lastErrors(since);
    }

    // ---- housekeeping ----

    /** Removes the messages received before {@code cutoff}, with their recipients and events; returns how many. */
    synchronized int removeBefore(Instant cutoff) throws SQLException {
        return remove("SELECT queue_id FROM message WHERE received_at < ?", cutoff.toEpochMilli());
    }

    /** Removes the {@code n} oldest messages; returns how many. */
    synchronized int removeOldest(int n) throws SQLException {
        return remove("SELECT queue_id FROM message ORDER BY received_at LIMIT ?", n);
    }

    private int remove(String select, long arg) throws SQLException {
        try {
            int removed;
            String in = " WHERE queue_id IN (" + select + ")";
            try (PreparedStatement p = writer.prepareStatement("DELETE FROM event" + in);
                 PreparedStatement q = writer.prepareStatement("DELETE FROM recipient" + in);
                 PreparedStatement m = writer.prepareStatement("DELETE FROM message" + in)) {
                p.setLong(1, arg);
                p.executeUpdate();
                q.setLong(1, arg);
                q.executeUpdate();
                m.setLong(1, arg);
                removed = m.executeUpdate();
            }
            // events of messages received before the history was on (or whose receipt was dropped)
            if (select.contains("received_at <")) {
                try (PreparedStatement p = writer.prepareStatement("DELETE FROM event WHERE at < ? AND queue_id NOT IN "
                        + "(SELECT queue_id FROM message)")) {
                    p.setLong(1, arg);
                    p.executeUpdate();
                }
            }
            writer.commit();
            return removed;
        } catch (SQLException | RuntimeException e) {
            writer.rollback();
            throw e;
        }
    }

    /** Bytes the history's pages hold now (free pages not counted). */
    synchronized long usedBytes() throws SQLException {
        try (Statement s = writer.createStatement()) {
            long pages = single(s, "PRAGMA page_count");
            long free = single(s, "PRAGMA freelist_count");
            long size = single(s, "PRAGMA page_size");
            writer.commit();
            return (pages - free) * size;
        }
    }

    /** Gives free pages back to the file system and folds the WAL into the file. */
    synchronized void compact() throws SQLException {
        writer.setAutoCommit(true);
        try (Statement s = writer.createStatement()) {
            s.execute("PRAGMA incremental_vacuum");
            s.execute("PRAGMA wal_checkpoint(TRUNCATE)");
        } finally {
            writer.setAutoCommit(false);
        }
    }

    /** Messages in the history. */
    public long count() throws SQLException {
        synchronized (reader) {
            try (Statement s = reader.createStatement()) {
                return single(s, "SELECT COUNT(*) FROM message");
            }
        }
    }

    private static long single(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            return rs.next() ? rs.getLong(1) : 0;
        }
    }

    @Override
    public synchronized void close() {
        synchronized (reader) {
            closeQuietly(reader);
        }
        for (PreparedStatement p : writes.statements()) {
            try {
                p.close();
            } catch (SQLException e) {
                log.debug("history: closing a statement: {}", e.getMessage());
            }
        }
        closeQuietly(writer);
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                log.debug("history: closing the connection: {}", e.getMessage());
            }
        }
    }
}
