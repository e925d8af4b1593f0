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
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The history: SQLite (a file per relay, opened in WAL mode, {@link #open}) or PostgreSQL ({@code cluster.database},
 * shared by the replicas, {@link #openShared}), its schema migrated by Flyway ({@code db/history/V*.sql} and the
 * dialect's own, {@link HistoryDialect}), written in batches by one thread ({@link #write}), read by any
 * ({@link #search}, {@link #trace}). The same SQL and JDBC code for both: {@link HistoryConnections} says where
 * the connections come from.
 */
public final class HistoryStore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HistoryStore.class);
    static final int MAX_TEXT = 1024;
    /** Messages removed per transaction by the pruning: no long transaction holds a shared database's rows. */
    static final int PRUNE_CHUNK = 5_000;

    private final Path file;
    private final HistoryConnections connections;
    private final HistoryWrites writes;
    private final HistoryReads reads;
    private final HistoryStats stats;
    private final String replica;

    private HistoryStore(Path file, boolean mask, HistoryConnections connections, String replica) {
        this.file = file;
        this.connections = connections;
        this.replica = replica;
        this.writes = new HistoryWrites(mask, replica);
        this.reads = new HistoryReads(connections, mask);
        this.stats = new HistoryStats(connections);
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
        SqliteNative.useCopyIn(dir); // kept there between starts instead of unpacked at each one
        String url = "jdbc:sqlite:" + file.toAbsolutePath();
        Connection w = null;
        Connection r = null;
        try {
            // sqlite-jdbc looks for generated keys after every insert by matching the statement with regular
            // expressions (some 5% of the bytes the relay allocated per message, measured); the writer uses none
            java.util.Properties noKeys = new java.util.Properties();
            noKeys.setProperty("jdbc.get_generated_keys", "false");
            w = DriverManager.getConnection(url, noKeys);
            try (Statement s = w.createStatement()) {
                s.execute("PRAGMA auto_vacuum = INCREMENTAL"); // before the first table: freed pages can be returned
                s.execute("PRAGMA journal_mode = WAL");
                s.execute("PRAGMA synchronous = NORMAL"); // WAL: a crash may lose the last commits, never corrupts
                s.execute("PRAGMA busy_timeout = 5000");
            }
            HistoryConnections.flyway(HistoryDialect.SQLITE).dataSource(url, "", "").load().migrate();
            w.setAutoCommit(false);
            r = DriverManager.getConnection(url);
            try (Statement s = r.createStatement()) {
                s.execute("PRAGMA busy_timeout = 5000");
                s.execute("PRAGMA query_only = true");
            }
            return new HistoryStore(file, mask, new HistoryConnections.Held(w, r), null);
        } catch (SQLException | RuntimeException e) {
            HistoryConnections.closeQuietly(r);
            HistoryConnections.closeQuietly(w);
            throw new IOException("cannot open the history " + file + " (history.path): " + e.getMessage(), e);
        }
    }

    /**
     * The history shared by the replicas in PostgreSQL ({@code cluster.database}), through {@code pool}. Reaches
     * nothing yet: the schema is migrated at the first call that reaches the database, so a relay starts while
     * the database is down, and the writer keeps its records until it answers.
     *
     * @param closer  closes the pool with the store
     * @param replica this replica's name ({@code cluster.replica-name}), written with each message and event
     */
    public static HistoryStore openShared(DataSource pool, AutoCloseable closer, boolean mask, String replica) {
        return new HistoryStore(null, mask, new HistoryConnections.Pooled(HistoryDialect.POSTGRESQL, pool, closer),
                replica);
    }

    /** The SQLite file, or null for the shared history in PostgreSQL. */
    public Path file() {
        return file;
    }

    /** The replica name written with each message and event, or null (a relay on its own). */
    public String replica() {
        return replica;
    }

    /** Whether this is the history shared by the replicas in PostgreSQL. */
    public boolean shared() {
        return connections.dialect == HistoryDialect.POSTGRESQL;
    }

    /** The schema version Flyway brought the file to. */
    public String schemaVersion() throws SQLException {
        return connections.read(c -> {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT version FROM "
                    + connections.dialect.schemaTable + " WHERE success ORDER BY installed_rank DESC")) {
                return rs.next() ? rs.getString(1) : null;
            }
        });
    }

    /** Writes {@code records} in one transaction (the writer thread's call). */
    synchronized void write(List<HistoryRecord> records) throws SQLException {
        connections.write(c -> {
            writes.write(c, records);
            return null;
        });
    }

    // ---- reading ----

    /** One message as a search lists it; {@code replica}: the one that received it (null: a relay on its own). */
    public record MessageSummary(String queueId, Instant receivedAt, String listener, String client, String user,
                                 boolean trusted, String tlsProtocol, String tlsCipher, long size, String sender,
                                 List<String> recipients, String messageId, String subject, String status,
                                 String upstream, String upstreamId, String dsnId, Instant updatedAt,
                                 String replica) {}

    /** One event of a message's timeline; {@code replica}: the one that wrote it (null: a relay on its own). */
    public record Event(Instant at, String kind, String recipient, String upstream, String host, Long durationMillis,
                        Integer code, String enhanced, String text, String upstreamId, Instant next, String detail,
                        String replica) {}

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

    /** What one pruning removed; null from {@link #prune} when another replica was pruning the shared history. */
    record Pruned(int old, int big) {}

    /**
     * Removes the messages received before {@code cutoff}, then, while the history takes more than {@code maxSize}
     * bytes (SQLite only: {@link HistoryDialect#usedBytes}), the oldest tenth; with their recipients and events, a
     * chunk per transaction. On the shared history one replica prunes at a time; the others get null.
     */
    synchronized Pruned prune(Instant cutoff, long maxSize) throws SQLException {
        Pruned pruned = connections.write(c -> {
            if (!connections.dialect.startPruning(c)) {
                return null;
            }
            try {
                int old = 0;
                int n;
                do {
                    n = remove(c, "SELECT queue_id FROM message WHERE received_at < ? ORDER BY received_at LIMIT ?",
                            cutoff.toEpochMilli(), PRUNE_CHUNK);
                    old += n;
                } while (n == PRUNE_CHUNK);
                // events of messages received before the history was on (or whose receipt was dropped)
                try (PreparedStatement p = c.prepareStatement("DELETE FROM event WHERE at < ? AND NOT EXISTS "
                        + "(SELECT 1 FROM message m WHERE m.queue_id = event.queue_id)")) {
                    p.setLong(1, cutoff.toEpochMilli());
                    p.executeUpdate();
                }
                c.commit();
                int big = 0;
                long used = connections.dialect.usedBytes(c);
                while (used > maxSize) {
                    long count = count(c);
                    n = count == 0 ? 0 : remove(c, "SELECT queue_id FROM message ORDER BY received_at LIMIT ?",
                            Math.max(1, Math.min(count / 10, 10_000)));
                    big += n;
                    used = n == 0 ? 0 : connections.dialect.usedBytes(c);
                }
                c.commit();
                return new Pruned(old, big);
            } finally {
                connections.dialect.endPruning(c);
            }
        });
        if (pruned != null && pruned.old() + pruned.big() > 0) {
            connections.write(c -> {
                connections.dialect.compact(c);
                return null;
            });
        }
        return pruned;
    }

    /** Removes the messages {@code select} (with {@code args}) names, in one transaction; returns how many. */
    private static int remove(Connection c, String select, long... args) throws SQLException {
        try {
            int removed = 0;
            String in = " WHERE queue_id IN (" + select + ")";
            for (String table : List.of("event", "recipient", "message")) {
                try (PreparedStatement p = c.prepareStatement("DELETE FROM " + table + in)) {
                    for (int i = 0; i < args.length; i++) {
                        p.setLong(i + 1, args[i]);
                    }
                    removed = p.executeUpdate();
                }
            }
            c.commit();
            return removed;
        } catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        }
    }

    /** Bytes the history's rows take now (SQLite: its pages, free pages not counted); -1 on PostgreSQL. */
    synchronized long usedBytes() throws SQLException {
        return connections.write(c -> {
            long used = connections.dialect.usedBytes(c);
            c.commit();
            return used;
        });
    }

    /** Messages in the history. */
    public long count() throws SQLException {
        return connections.read(HistoryStore::count);
    }

    private static long count(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            return HistoryDialect.single(s, "SELECT COUNT(*) FROM message");
        }
    }

    @Override
    public synchronized void close() {
        writes.close();
        connections.close();
    }
}
