package dev.relay.history;

import dev.relay.history.HistoryStore.Event;
import dev.relay.history.HistoryStore.MessageSummary;
import dev.relay.history.HistoryStore.Page;
import dev.relay.history.HistoryStore.Query;
import dev.relay.history.HistoryStore.Trace;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The reading side of the history: searches and timelines, each on a connection of {@link HistoryConnections#read}. */
final class HistoryReads {
    private final HistoryConnections connections;
    private final boolean mask;

    HistoryReads(HistoryConnections connections, boolean mask) {
        this.connections = connections;
        this.mask = mask;
    }

    /** An address as the history stores it (masked with {@code history.mask-addresses}), to search for. */
    private String addr(String a) {
        return mask ? Masking.mask(a) : a;
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
        return connections.read(reader -> {
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
            return new Page(withRecipients(reader, out), next);
        });
    }

    /**
     * The messages {@code id} names, each with its timeline: the queue id, else the {@code Message-ID} (with or
     * without angle brackets), else the upstream's id; newest first.
     */
    public List<Trace> trace(String id) throws SQLException {
        return connections.read(reader -> {
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
            for (MessageSummary m : withRecipients(reader, found)) {
                out.add(new Trace(m, events(reader, m.queueId())));
            }
            return out;
        });
    }

    private static List<Event> events(Connection reader, String queueId) throws SQLException {
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
                            rs.getString("detail"), rs.getString("replica")));
                }
            }
        }
        return out;
    }

    private static List<MessageSummary> withRecipients(Connection reader, List<MessageSummary> list)
            throws SQLException {
        List<MessageSummary> out = new ArrayList<>(list.size());
        try (PreparedStatement p = reader.prepareStatement(
                "SELECT address FROM recipient WHERE queue_id = ? ORDER BY position, address")) {
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
                        m.status(), m.upstream(), m.upstreamId(), m.dsnId(), m.updatedAt(), m.replica()));
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
                rs.getString("upstream_id"), rs.getString("dsn_id"), Instant.ofEpochMilli(rs.getLong("updated_at")),
                rs.getString("replica"));
    }

    private static String like(String s) {
        return s.toLowerCase(Locale.ROOT).replace("%", "").replace("_", "");
    }

    /** A Message-ID as the header holds it: in angle brackets. */
    static String angled(String id) {
        String s = id.strip();
        return s.startsWith("<") ? s : "<" + s + ">";
    }
}
