package dev.relay.history;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** Figures over the timeline for the console's overview, on a connection of {@link HistoryConnections#read}. */
final class HistoryStats {
    private final HistoryConnections connections;

    HistoryStats(HistoryConnections connections) {
        this.connections = connections;
    }

    /** Events since {@code since} by kind (received, delivered, deferred, failed, ...). */
    Map<String, Long> eventsByKind(Instant since) throws SQLException {
        Map<String, Long> out = new LinkedHashMap<>();
        return connections.read(reader -> {
            try (PreparedStatement s = reader.prepareStatement(
                    "SELECT kind, COUNT(*) FROM event WHERE at >= ? GROUP BY kind")) {
                s.setLong(1, since.toEpochMilli());
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        out.put(rs.getString(1), rs.getLong(2));
                    }
                }
            }
            return out;
        });
    }

    /**
     * For each upstream with a failed attempt since {@code since} (a reply of 4xx or 5xx, or none), the newest one:
     * its time, code and text.
     */
    Map<String, HistoryStore.UpstreamError> lastErrors(Instant since) throws SQLException {
        Map<String, HistoryStore.UpstreamError> out = new LinkedHashMap<>();
        return connections.read(reader -> {
            try (PreparedStatement s = reader.prepareStatement("SELECT upstream, at, code, enhanced, text FROM event "
                    + "WHERE kind = 'attempt' AND at >= ? AND upstream IS NOT NULL AND (code IS NULL OR code >= 400) "
                    + "ORDER BY at DESC, seq DESC")) {
                s.setLong(1, since.toEpochMilli());
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        String upstream = rs.getString(1);
                        if (!out.containsKey(upstream)) {
                            int code = rs.getInt(3);
                            out.put(upstream, new HistoryStore.UpstreamError(Instant.ofEpochMilli(rs.getLong(2)),
                                    rs.wasNull() ? null : code, rs.getString(4), rs.getString(5)));
                        }
                    }
                }
            }
            return out;
        });
    }
}
