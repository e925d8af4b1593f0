package dev.relay.history;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * What differs between the history in SQLite (one file per relay) and in PostgreSQL ({@code cluster.database},
 * shared by the replicas); everything else is the same SQL on the same JDBC code.
 */
enum HistoryDialect {
    SQLITE("classpath:db/history-sqlite", "schema_history"),
    POSTGRESQL("classpath:db/history-postgresql", "relay_history_schema_history");

    /** The key of the PostgreSQL advisory lock held by the one replica pruning the shared history. */
    private static final long PRUNING_LOCK = 0x72656c6179_68L; // "relay" "h"

    /** Flyway's locations: the portable migrations, then this dialect's own. */
    final String[] locations;
    /** Flyway's table (PostgreSQL: beside the cluster's own tables, so named for the history). */
    final String schemaTable;

    HistoryDialect(String own, String schemaTable) {
        this.locations = new String[] {"classpath:db/history", own};
        this.schemaTable = schemaTable;
    }

    /**
     * Bytes the history's rows take now, or -1 where {@code history.max-size} does not apply: PostgreSQL does not
     * give freed space back to the file system, so its table sizes would not shrink when messages are removed;
     * there {@code history.retention} alone bounds the history (the database's storage is its operator's).
     */
    long usedBytes(Connection c) throws SQLException {
        if (this == POSTGRESQL) {
            return -1;
        }
        try (Statement s = c.createStatement()) {
            return (single(s, "PRAGMA page_count") - single(s, "PRAGMA freelist_count"))
                    * single(s, "PRAGMA page_size");
        }
    }

    /** SQLite: gives free pages back and folds the WAL into the file. PostgreSQL: its autovacuum does that. */
    void compact(Connection c) throws SQLException {
        if (this == POSTGRESQL) {
            return;
        }
        c.setAutoCommit(true);
        try (Statement s = c.createStatement()) {
            s.execute("PRAGMA incremental_vacuum");
            s.execute("PRAGMA wal_checkpoint(TRUNCATE)");
        } finally {
            c.setAutoCommit(false);
        }
    }

    /**
     * Whether this relay may prune now: always with SQLite (one writer); with PostgreSQL when no other replica is
     * pruning (a session advisory lock, {@link #endPruning} releases it; the database releases it too when the
     * connection is lost). The others skip the round: the same rows would only be deleted twice.
     */
    boolean startPruning(Connection c) throws SQLException {
        if (this == SQLITE) {
            return true;
        }
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT pg_try_advisory_lock(" + PRUNING_LOCK + ")")) {
            boolean got = rs.next() && rs.getBoolean(1);
            c.commit();
            return got;
        }
    }

    void endPruning(Connection c) throws SQLException {
        if (this == POSTGRESQL) {
            try (Statement s = c.createStatement()) {
                s.execute("SELECT pg_advisory_unlock(" + PRUNING_LOCK + ")");
            }
            c.commit();
        }
    }

    static long single(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            return rs.next() ? rs.getLong(1) : 0;
        }
    }
}
