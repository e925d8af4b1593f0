package dev.relay.history;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The writing side of the history: applies a batch of {@link HistoryRecord}s in one transaction on the writer's
 * connection, with each statement prepared once per connection (SQLite's is always the same; a pool's may change
 * from batch to batch). Called by {@link HistoryStore#write} under its lock.
 */
final class HistoryWrites {
    private static final Logger log = LoggerFactory.getLogger(HistoryWrites.class);
    private final boolean mask;
    private final String replica;
    /**
     * The writer's order of events within a millisecond: from the clock in microseconds at the start, so that it
     * goes on rising across restarts without reading the table (a shared one is large); replicas may share values,
     * never a message (each message's events come from the replica that has it).
     */
    private long seq = System.currentTimeMillis() * 1000;
    private Connection writer;
    /** The writer's statements, prepared once: parsing the SQL for every record cost more than running it. */
    private final Map<String, PreparedStatement> statements = new HashMap<>();

    HistoryWrites(boolean mask, String replica) {
        this.mask = mask;
        this.replica = replica;
    }

    /** Closes the statements prepared so far (the store's close). */
    void close() {
        for (PreparedStatement p : statements.values()) {
            try {
                p.close();
            } catch (SQLException e) {
                log.debug("history: closing a statement: {}", e.getMessage());
            }
        }
        statements.clear();
    }

    /** Writes {@code records} in one transaction on {@code c} (the writer thread's call). */
    void write(Connection c, List<HistoryRecord> records) throws SQLException {
        if (c != writer) { // another connection of the pool: the statements prepared on the last one are gone
            close();
            writer = c;
        }
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
            close(); // a statement that failed may be unusable (SQLite finalizes it on SQLITE_FULL): prepare anew
            throw e;
        }
    }

    /**
     * The writer's statement for {@code sql}, prepared at its first use and kept for the next records (parsing the
     * SQL cost more than running it), its parameters and batch cleared; {@link #close()} closes them.
     * Never close one after use.
     */
    PreparedStatement cached(String sql) throws SQLException {
        PreparedStatement p = statements.get(sql);
        if (p == null) {
            p = writer.prepareStatement(sql);
            statements.put(sql, p);
        } else {
            p.clearParameters();
            p.clearBatch();
        }
        return p;
    }

    private String addr(String a) {
        return mask ? Masking.mask(a) : a;
    }

    private void apply(HistoryRecord r, Set<String> touched) throws SQLException {
        long at = r.at().toEpochMilli();
        switch (r) {
            case HistoryRecord.Received m -> {
                {
                    PreparedStatement p = cached("INSERT INTO message (queue_id, received_at, submitter, trusted, "
                        + "size, sender, status, updated_at, replica) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?) "
                        + "ON CONFLICT (queue_id) DO NOTHING");
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
                    p.setString(8, replica);
                    p.executeUpdate();
                }
                {
                    PreparedStatement p = cached("INSERT INTO recipient (queue_id, address, status, updated_at, "
                        + "position) VALUES (?, ?, 'queued', ?, ?) ON CONFLICT (queue_id, address) DO NOTHING");
                    int position = 0;
                    for (String rcpt : m.recipients()) {
                        p.setString(1, m.queueId());
                        p.setString(2, addr(rcpt));
                        p.setLong(3, at);
                        p.setInt(4, position++);
                        p.addBatch();
                    }
                    p.executeBatch();
                }
                event(m.queueId(), m.receivedAt().toEpochMilli(), "received", null, null, null, null, null, null,
                        m.submitter() == null ? "bounce" : null);
            }
            case HistoryRecord.Details d -> {
                Receipt x = d.receipt();
                {
                    PreparedStatement p = cached("UPDATE message SET listener = ?, client_address = ?, "
                        + "tls_protocol = ?, tls_cipher = ?, message_id = ?, subject = ? WHERE queue_id = ?");
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
                {
                    PreparedStatement p = cached("INSERT INTO event (queue_id, at, seq, kind, "
                        + "recipient, upstream, host, duration_ms, code, enhanced, text, upstream_id, replica) "
                        + "VALUES (?, ?, ?, 'attempt', ?, ?, ?, ?, ?, ?, ?, ?, ?)");
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
                    p.setString(10, cut(reply.text(), HistoryStore.MAX_TEXT));
                    p.setString(11, reply.upstreamId());
                    p.setString(12, replica);
                    p.executeUpdate();
                }
                {
                    PreparedStatement p = cached("UPDATE message SET upstream = ?, "
                        + "upstream_id = COALESCE(?, upstream_id), updated_at = ? WHERE queue_id = ?");
                    p.setString(1, a.upstream());
                    p.setString(2, reply.upstreamId());
                    p.setLong(3, at);
                    p.setString(4, a.queueId());
                    p.executeUpdate();
                }
            }
            case HistoryRecord.Outcome o -> {
                {
                    PreparedStatement p = cached("UPDATE recipient SET status = ?, updated_at = ? "
                        + "WHERE queue_id = ? AND address = ?");
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
                    {
                        PreparedStatement p = cached(
                            "UPDATE message SET dsn_id = ?, updated_at = ? WHERE queue_id = ?");
                        p.setString(1, b.dsnId());
                        p.setLong(2, at);
                        p.setString(3, b.queueId());
                        p.executeUpdate();
                    }
                }
                notice(b.queueId(), b.at(), "bounced", b.dsnId(), b.dsnRecipient(), "failed", b.recipients(), touched);
                touched.add(b.queueId());
            }
            case HistoryRecord.DelayWarned w -> // the recipients keep their status: still being retried
                notice(w.queueId(), w.at(), "delayed", w.dsnId(), w.dsnRecipient(), "delayed", w.recipients(),
                        touched);
            case HistoryRecord.HandedOff h -> // found by the original id as by an upstream's id
                    event(h.queueId(), at, "handoff", null, null, null, h.originalId(), null, null, h.detail());
            case HistoryRecord.Action a -> {
                event(a.queueId(), at, a.action(), null, null, null, null, null, null, "by " + a.by());
                String status = switch (a.action()) {
                    case "hold" -> "held";
                    case "delete" -> "deleted";
                    case "release", "requeue", "retry" -> null;
                    default -> null;
                };
                if (a.action().equals("requeue") || a.action().equals("release")) {
                    {
                        PreparedStatement p = cached("UPDATE recipient SET status = 'queued', "
                            + "updated_at = ? WHERE queue_id = ? AND status IN ('failed', 'expired', 'queued')");
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

    /**
     * The event of a notice to the sender ({@code bounced}, {@code delayed}), and the notice's own receipt when one
     * was queued (it then has a history of its own).
     */
    private void notice(String queueId, Instant when, String kind, String dsnId, String dsnRecipient, String what,
                        List<String> recipients, Set<String> touched) throws SQLException {
        if (dsnId != null) {
            apply(new HistoryRecord.Received(dsnId, when, when, "", List.of(dsnRecipient), null, 0), touched);
        }
        event(queueId, when.toEpochMilli(), kind, null, null, null, null, null, null,
                (dsnId == null ? "not sent (queue.bounces=log)" : "dsn " + dsnId) + " " + what + "="
                        + recipients(recipients));
    }

    private static String recipients(List<String> list) {
        return list.isEmpty() ? "" : "<" + String.join(">,<", list) + ">";
    }

    private void event(String queueId, long at, String kind, String upstream, String host, String text,
                       String upstreamId, Instant next, Integer code, String detail) throws SQLException {
        {
            PreparedStatement p = cached("INSERT INTO event (queue_id, at, seq, kind, upstream, host, text, "
                + "upstream_id, next_at, code, detail, replica) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
            p.setString(1, queueId);
            p.setLong(2, at);
            p.setLong(3, ++seq);
            p.setString(4, kind);
            p.setString(5, upstream);
            p.setString(6, host);
            p.setString(7, cut(text, HistoryStore.MAX_TEXT));
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
            p.setString(11, cut(mask ? maskAll(detail) : detail, HistoryStore.MAX_TEXT));
            p.setString(12, replica);
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
        {
            PreparedStatement p = cached("UPDATE message SET status = CASE"
                + " WHEN status IN ('held', 'deleted') THEN status"
                + " WHEN EXISTS (" + HAS + "'deferred') THEN 'deferred'"
                + " WHEN EXISTS (" + HAS + "'queued') THEN 'queued'"
                + " WHEN EXISTS (" + HAS + "'failed') THEN (CASE WHEN dsn_id IS NULL THEN 'failed' ELSE 'bounced' END)"
                + " WHEN EXISTS (" + HAS + "'expired') THEN (CASE WHEN dsn_id IS NULL THEN 'expired' ELSE 'bounced' END)"
                + " WHEN EXISTS (" + HAS + "'delivered') THEN 'delivered'"
                + " ELSE status END WHERE queue_id = ?");
            p.setString(1, queueId);
            p.executeUpdate();
        }
    }

    private static final String HAS = "SELECT 1 FROM recipient r WHERE r.queue_id = message.queue_id AND r.status = ";

    private void setStatus(String queueId, String status, Long at) throws SQLException {
        {
            PreparedStatement p = cached(at == null
                ? "UPDATE message SET status = ? WHERE queue_id = ?"
                : "UPDATE message SET status = ?, updated_at = ? WHERE queue_id = ?");
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
}
