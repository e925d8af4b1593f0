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
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
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
    private final boolean mask;
    private final Connection writer;
    private final Connection reader;
    private long seq;
    /** The writer's statements, prepared once: parsing the SQL for every record cost more than running it. */
    private final java.util.Map<String, PreparedStatement> statements = new java.util.HashMap<>();

    private HistoryStore(Path file, boolean mask, Connection writer, Connection reader) {
        this.file = file;
        this.mask = mask;
        this.writer = writer;
        this.reader = reader;
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
            HistoryStore store = new HistoryStore(file, mask, w, r);
            store.seq = store.maxSeq();
            return store;
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

    private long maxSeq() throws SQLException {
        try (Statement s = writer.createStatement(); ResultSet rs = s.executeQuery("SELECT MAX(seq) FROM event")) {
            return rs.next() ? rs.getLong(1) : 0;
        }
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
        Set<String> touched = new LinkedHashSet<>();
        try {
            for (HistoryRecord r : records) {
                apply(r, touched);
            }
            for (String id : touched) {
                settleStatus(id);
            }
            writer.commit();
        } catch (SQLException | RuntimeException e) {
            try {
                writer.rollback();
            } catch (SQLException ignored) {
                // the next write starts a new transaction anyway
            }
            throw e;
        }
    }

    /**
     * The writer's statement for {@code sql}, prepared at its first use and kept: its {@code close()} (by
     * try-with-resources) only clears its parameters and batch; {@link #close()} closes it for good.
     */
    private PreparedStatement cached(String sql) throws SQLException {
        PreparedStatement real = statements.get(sql);
        if (real == null) {
            real = writer.prepareStatement(sql);
            statements.put(sql, real);
        }
        PreparedStatement target = real;
        return (PreparedStatement) java.lang.reflect.Proxy.newProxyInstance(PreparedStatement.class.getClassLoader(),
                new Class<?>[] {PreparedStatement.class}, (proxy, method, args) -> {
                    if (method.getName().equals("close") && method.getParameterCount() == 0) {
                        target.clearParameters();
                        target.clearBatch();
                        return null;
                    }
                    try {
                        return method.invoke(target, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    private String addr(String a) {
        return mask ? Masking.mask(a) : a;
    }

    private void apply(HistoryRecord r, Set<String> touched) throws SQLException {
        long at = r.at().toEpochMilli();
        switch (r) {
            case HistoryRecord.Received m -> {
                try (PreparedStatement p = cached("INSERT INTO message (queue_id, received_at, "
                        + "submitter, trusted, size, sender, status, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?) "
                        + "ON CONFLICT (queue_id) DO NOTHING")) {
                    p.setString(1, m.queueId());
                    p.setLong(2, m.receivedAt().toEpochMilli());
                    p.setString(3, m.submitter() == null || m.submitter().isEmpty() ? null : m.submitter());
                    if (m.submitter() == null) {
                        p.setNull(4, Types.INTEGER);
                    } else {
                        p.setInt(4, m.submitter().isEmpty() ? 1 : 0);
                    }
                    p.setLong(5, m.size());
                    p.setString(6, addr(m.sender()));
                    p.setLong(7, at);
                    p.executeUpdate();
                }
                try (PreparedStatement p = cached("INSERT INTO recipient (queue_id, address, "
                        + "status, updated_at) VALUES (?, ?, 'queued', ?) ON CONFLICT (queue_id, address) DO NOTHING")) {
                    for (String rcpt : m.recipients()) {
                        p.setString(1, m.queueId());
                        p.setString(2, addr(rcpt));
                        p.setLong(3, at);
                        p.addBatch();
                    }
                    p.executeBatch();
                }
                event(m.queueId(), m.receivedAt().toEpochMilli(), "received", null, null, null, null, null, null,
                        m.submitter() == null ? "bounce" : null);
            }
            case HistoryRecord.Details d -> {
                Receipt x = d.receipt();
                try (PreparedStatement p = cached("UPDATE message SET listener = ?, client_address = ?, "
                        + "tls_protocol = ?, tls_cipher = ?, message_id = ?, subject = ? WHERE queue_id = ?")) {
                    p.setString(1, x.listener());
                    p.setString(2, x.client());
                    p.setString(3, x.tlsProtocol());
                    p.setString(4, x.tlsCipher());
                    p.setString(5, cut(x.messageId(), 998));
                    p.setString(6, cut(x.subject(), 998));
                    p.setString(7, d.queueId());
                    p.executeUpdate();
                }
            }
            case HistoryRecord.Attempt a -> {
                UpstreamReply reply = UpstreamReply.parse(a.detail());
                try (PreparedStatement p = cached("INSERT INTO event (queue_id, at, seq, kind, "
                        + "recipient, upstream, host, duration_ms, code, enhanced, text, upstream_id) "
                        + "VALUES (?, ?, ?, 'attempt', ?, ?, ?, ?, ?, ?, ?, ?)")) {
                    p.setString(1, a.queueId());
                    p.setLong(2, a.started() == null ? at : a.started().toEpochMilli());
                    p.setLong(3, ++seq);
                    p.setString(4, addr(a.recipient()));
                    p.setString(5, a.upstream());
                    p.setString(6, a.host());
                    p.setLong(7, a.durationMillis());
                    if (reply.code() < 0) {
                        p.setNull(8, Types.INTEGER);
                    } else {
                        p.setInt(8, reply.code());
                    }
                    p.setString(9, reply.enhanced().isEmpty() ? null : reply.enhanced());
                    p.setString(10, cut(reply.text(), MAX_TEXT));
                    p.setString(11, reply.upstreamId());
                    p.executeUpdate();
                }
                try (PreparedStatement p = cached("UPDATE message SET upstream = ?, "
                        + "upstream_id = COALESCE(?, upstream_id), updated_at = ? WHERE queue_id = ?")) {
                    p.setString(1, a.upstream());
                    p.setString(2, reply.upstreamId());
                    p.setLong(3, at);
                    p.setString(4, a.queueId());
                    p.executeUpdate();
                }
            }
            case HistoryRecord.Outcome o -> {
                try (PreparedStatement p = cached("UPDATE recipient SET status = ?, updated_at = ? "
                        + "WHERE queue_id = ? AND address = ?")) {
                    for (String rcpt : o.recipients()) {
                        p.setString(1, o.kind());
                        p.setLong(2, at);
                        p.setString(3, o.queueId());
                        p.setString(4, addr(rcpt));
                        p.addBatch();
                    }
                    p.executeBatch();
                }
                event(o.queueId(), at, o.kind(), null, null, o.detail(), null, o.next(), null,
                        recipients(o.recipients()));
                touched.add(o.queueId());
            }
            case HistoryRecord.Bounced b -> {
                if (b.dsnId() != null) {
                    try (PreparedStatement p = cached(
                            "UPDATE message SET dsn_id = ?, updated_at = ? WHERE queue_id = ?")) {
                        p.setString(1, b.dsnId());
                        p.setLong(2, at);
                        p.setString(3, b.queueId());
                        p.executeUpdate();
                    }
                    apply(new HistoryRecord.Received(b.dsnId(), b.at(), b.at(), "", List.of(b.dsnRecipient()), null,
                            0), touched);
                }
                event(b.queueId(), at, "bounced", null, null, null, null, null, null,
                        (b.dsnId() == null ? "not sent (queue.bounces=log)" : "dsn " + b.dsnId()) + " failed="
                                + recipients(b.recipients()));
                touched.add(b.queueId());
            }
            case HistoryRecord.Action a -> {
                event(a.queueId(), at, a.action(), null, null, null, null, null, null, "by " + a.by());
                String status = switch (a.action()) {
                    case "hold" -> "held";
                    case "delete" -> "deleted";
                    case "release", "requeue", "retry" -> null;
                    default -> null;
                };
                if (a.action().equals("requeue") || a.action().equals("release")) {
                    try (PreparedStatement p = cached("UPDATE recipient SET status = 'queued', "
                            + "updated_at = ? WHERE queue_id = ? AND status IN ('failed', 'expired', 'queued')")) {
                        p.setLong(1, at);
                        p.setString(2, a.queueId());
                        p.executeUpdate();
                    }
                    setStatus(a.queueId(), "queued", at); // no longer held or failed: its recipients decide
                    touched.add(a.queueId());
                }
                if (status != null) {
                    setStatus(a.queueId(), status, at);
                }
            }
        }
    }

    private static String recipients(List<String> list) {
        return list.isEmpty() ? "" : "<" + String.join(">,<", list) + ">";
    }

    private void event(String queueId, long at, String kind, String upstream, String host, String text,
                       String upstreamId, Instant next, Integer code, String detail) throws SQLException {
        try (PreparedStatement p = cached("INSERT INTO event (queue_id, at, seq, kind, upstream, "
                + "host, text, upstream_id, next_at, code, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            p.setString(1, queueId);
            p.setLong(2, at);
            p.setLong(3, ++seq);
            p.setString(4, kind);
            p.setString(5, upstream);
            p.setString(6, host);
            p.setString(7, cut(text, MAX_TEXT));
            p.setString(8, upstreamId);
            if (next == null) {
                p.setNull(9, Types.BIGINT);
            } else {
                p.setLong(9, next.toEpochMilli());
            }
            if (code == null) {
                p.setNull(10, Types.INTEGER);
            } else {
                p.setInt(10, code);
            }
            p.setString(11, cut(mask ? maskAll(detail) : detail, MAX_TEXT));
            p.executeUpdate();
        }
    }

    private static String maskAll(String detail) {
        if (detail == null || detail.indexOf('@') < 0) {
            return detail;
        }
        StringBuilder out = new StringBuilder();
        for (String part : detail.split(",", -1)) {
            String p = part;
            boolean angle = p.startsWith("<") && p.endsWith(">");
            if (angle) {
                p = "<" + Masking.mask(p.substring(1, p.length() - 1)) + ">";
            }
            out.append(out.isEmpty() ? "" : ",").append(p);
        }
        return out.toString();
    }

    /**
     * The message's status from its recipients': what is still to do first, then failures (bounced when a DSN was
     * sent), then delivered; a held or deleted message keeps its status. One statement, plain SQL.
     */
    private void settleStatus(String queueId) throws SQLException {
        try (PreparedStatement p = cached("UPDATE message SET status = CASE"
                + " WHEN status IN ('held', 'deleted') THEN status"
                + " WHEN EXISTS (" + HAS + "'deferred') THEN 'deferred'"
                + " WHEN EXISTS (" + HAS + "'queued') THEN 'queued'"
                + " WHEN EXISTS (" + HAS + "'failed') THEN (CASE WHEN dsn_id IS NULL THEN 'failed' ELSE 'bounced' END)"
                + " WHEN EXISTS (" + HAS + "'expired') THEN (CASE WHEN dsn_id IS NULL THEN 'expired' ELSE 'bounced' END)"
                + " WHEN EXISTS (" + HAS + "'delivered') THEN 'delivered'"
                + " ELSE status END WHERE queue_id = ?")) {
            p.setString(1, queueId);
            p.executeUpdate();
        }
    }

    private static final String HAS = "SELECT 1 FROM recipient r WHERE r.queue_id = message.queue_id AND r.status = ";

    private void setStatus(String queueId, String status, Long at) throws SQLException {
        try (PreparedStatement p = cached(at == null
                ? "UPDATE message SET status = ? WHERE queue_id = ?"
                : "UPDATE message SET status = ?, updated_at = ? WHERE queue_id = ?")) {
            p.setString(1, status);
            if (at == null) {
                p.setString(2, queueId);
            } else {
                p.setLong(2, at);
                p.setString(3, queueId);
            }
            p.executeUpdate();
        }
    }

    private static String cut(String s, int max) {
        return s == null || s.length() <= max ? s : s.substring(0, max);
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
        StringBuilder sql = new StringBuilder("SELECT * FROM message m WHERE 1 = 1");
        List<Object> args = new ArrayList<>();
        if (q.since() != null) {
            sql.append(" AND m.received_at >= ?");
            args.add(q.since().toEpochMilli());
        }
        if (q.until() != null) {
            sql.append(" AND m.received_at < ?");
            args.add(q.until().toEpochMilli());
        }
        if (q.sender() != null) {
            if (q.sender().contains("@") || q.sender().equals("<>")) {
                sql.append(" AND m.sender = ?");
                args.add(q.sender().equals("<>") ? "" : addr(q.sender()));
            } else {
                sql.append(" AND LOWER(m.sender) LIKE ?");
                args.add("%" + like(q.sender()) + "%");
            }
        }
        if (q.recipient() != null) {
            if (q.recipient().contains("@")) {
                sql.append(" AND EXISTS (SELECT 1 FROM recipient r WHERE r.queue_id = m.queue_id AND r.address = ?)");
                args.add(addr(q.recipient()));
            } else {
                sql.append(" AND EXISTS (SELECT 1 FROM recipient r WHERE r.queue_id = m.queue_id "
                        + "AND LOWER(r.address) LIKE ?)");
                args.add("%" + like(q.recipient()) + "%");
            }
        }
        if (q.messageId() != null) {
            sql.append(" AND m.message_id = ?");
            args.add(angled(q.messageId()));
        }
        if (q.upstream() != null) {
            sql.append(" AND (m.upstream = ? OR EXISTS (SELECT 1 FROM event e WHERE e.queue_id = m.queue_id "
                    + "AND e.kind = 'attempt' AND e.upstream = ?))");
            args.add(q.upstream());
            args.add(q.upstream());
        }
        if (q.status() != null) {
            List<String> states = switch (q.status().toLowerCase(Locale.ROOT)) {
                case "delivered" -> List.of("delivered");
                case "deferred" -> List.of("deferred");
                case "queued" -> List.of("queued");
                case "failed" -> List.of("failed", "expired");
                case "expired" -> List.of("expired");
                case "bounced" -> List.of("bounced");
                case "held" -> List.of("held");
                case "deleted" -> List.of("deleted");
                default -> throw new IllegalArgumentException("unknown status '" + q.status()
                        + "': use delivered, deferred, failed, bounced, expired, queued, held or deleted");
            };
            sql.append(" AND m.status IN (").append("?, ".repeat(states.size() - 1)).append("?)");
            args.addAll(states);
        }
        if (after != null && !after.isEmpty()) {
            int colon = after.indexOf(':');
            long t;
            try {
                t = Long.parseLong(after.substring(0, Math.max(colon, 0)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("after: not a cursor of this API ('" + after + "')");
            }
            sql.append(" AND (m.received_at < ? OR (m.received_at = ? AND m.queue_id < ?))");
            args.add(t);
            args.add(t);
            args.add(after.substring(colon + 1));
        }
        sql.append(" ORDER BY m.received_at DESC, m.queue_id DESC LIMIT ?");
        args.add(limit + 1);
        synchronized (reader) {
            List<MessageSummary> out = new ArrayList<>();
            try (PreparedStatement p = reader.prepareStatement(sql.toString())) {
                for (int i = 0; i < args.size(); i++) {
                    p.setObject(i + 1, args.get(i));
                }
                try (ResultSet rs = p.executeQuery()) {
                    while (rs.next()) {
                        out.add(summary(rs));
                    }
                }
            }
            String next = null;
            if (out.size() > limit) {
                out = new ArrayList<>(out.subList(0, limit));
                MessageSummary last = out.get(out.size() - 1);
                next = last.receivedAt().toEpochMilli() + ":" + last.queueId();
            }
            return new Page(withRecipients(out), next);
        }
    }

    /**
     * The messages {@code id} names, each with its timeline: the queue id, else the {@code Message-ID} (with or
     * without angle brackets), else the upstream's id; newest first.
     */
    public List<Trace> trace(String id) throws SQLException {
        synchronized (reader) {
            List<MessageSummary> found = new ArrayList<>();
            List<String> queries = List.of("SELECT * FROM message m WHERE m.queue_id = ?",
                    "SELECT * FROM message m WHERE m.message_id = ? ORDER BY m.received_at DESC",
                    "SELECT * FROM message m WHERE m.upstream_id = ? OR m.queue_id IN "
                            + "(SELECT e.queue_id FROM event e WHERE e.upstream_id = ?) ORDER BY m.received_at DESC");
            for (int i = 0; i < queries.size(); i++) {
                try (PreparedStatement p = reader.prepareStatement(queries.get(i))) {
                    p.setString(1, i == 1 ? angled(id) : id);
                    if (i == 2) {
                        p.setString(2, id);
                    }
                    try (ResultSet rs = p.executeQuery()) {
                        while (rs.next()) {
                            found.add(summary(rs));
                        }
                    }
                }
                if (!found.isEmpty()) {
                    break;
                }
            }
            List<Trace> out = new ArrayList<>();
            for (MessageSummary m : withRecipients(found)) {
                out.add(new Trace(m, events(m.queueId())));
            }
            return out;
        }
    }

    private List<Event> events(String queueId) throws SQLException {
        List<Event> out = new ArrayList<>();
        try (PreparedStatement p = reader.prepareStatement(
                "SELECT * FROM event WHERE queue_id = ? ORDER BY at, seq")) {
            p.setString(1, queueId);
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) {
                    long next = rs.getLong("next_at");
                    Instant nextAt = rs.wasNull() ? null : Instant.ofEpochMilli(next);
                    long d = rs.getLong("duration_ms");
                    Long duration = rs.wasNull() ? null : d;
                    int c = rs.getInt("code");
                    Integer code = rs.wasNull() ? null : c;
                    out.add(new Event(Instant.ofEpochMilli(rs.getLong("at")), rs.getString("kind"),
                            rs.getString("recipient"), rs.getString("upstream"), rs.getString("host"), duration, code,
                            rs.getString("enhanced"), rs.getString("text"), rs.getString("upstream_id"), nextAt,
                            rs.getString("detail")));
                }
            }
        }
        return out;
    }

    private List<MessageSummary> withRecipients(List<MessageSummary> list) throws SQLException {
        List<MessageSummary> out = new ArrayList<>(list.size());
        try (PreparedStatement p = reader.prepareStatement(
                "SELECT address FROM recipient WHERE queue_id = ? ORDER BY rowid")) {
            for (MessageSummary m : list) {
                List<String> rcpts = new ArrayList<>();
                p.setString(1, m.queueId());
                try (ResultSet rs = p.executeQuery()) {
                    while (rs.next()) {
                        rcpts.add(rs.getString(1));
                    }
                }
                out.add(new MessageSummary(m.queueId(), m.receivedAt(), m.listener(), m.client(), m.user(), m.trusted(),
                        m.tlsProtocol(), m.tlsCipher(), m.size(), m.sender(), rcpts, m.messageId(), m.subject(),
                        m.status(), m.upstream(), m.upstreamId(), m.dsnId(), m.updatedAt()));
            }
        }
        return out;
    }

    private static MessageSummary summary(ResultSet rs) throws SQLException {
        return new MessageSummary(rs.getString("queue_id"), Instant.ofEpochMilli(rs.getLong("received_at")),
                rs.getString("listener"), rs.getString("client_address"), rs.getString("submitter"),
                rs.getInt("trusted") == 1, rs.getString("tls_protocol"), rs.getString("tls_cipher"),
                rs.getLong("size"), rs.getString("sender"), List.of(), rs.getString("message_id"),
                rs.getString("subject"), rs.getString("status"), rs.getString("upstream"),
                rs.getString("upstream_id"), rs.getString("dsn_id"), Instant.ofEpochMilli(rs.getLong("updated_at")));
    }

    private static String like(String s) {
        return s.toLowerCase(Locale.ROOT).replace("%", "").replace("_", "");
    }

    /** A Message-ID as the header holds it: in angle brackets. */
    static String angled(String id) {
        String s = id.strip();
        return s.startsWith("<") ? s : "<" + s + ">";
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
            try (PreparedStatement p = cached("DELETE FROM event" + in);
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
                try (PreparedStatement p = cached("DELETE FROM event WHERE at < ? AND queue_id NOT IN "
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
        for (PreparedStatement p : statements.values()) {
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
