package dev.relay.history;

import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the history's connections come from. SQLite: two held open, the writer's and one for reads, each used
 * under its own lock (a WAL reader never waits for the writer). PostgreSQL: a pool, one connection per batch or
 * read, the schema migrated at the first call that reaches the database (a relay starts while it is down).
 */
abstract sealed class HistoryConnections implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HistoryConnections.class);

    /** Work on a connection. */
    interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    final HistoryDialect dialect;

    HistoryConnections(HistoryDialect dialect) {
        this.dialect = dialect;
    }

    /** Runs {@code w} on a connection for reading (auto-commit). */
    abstract <T> T read(Work<T> w) throws SQLException;

    /** Runs {@code w} on the writer's connection (auto-commit off: {@code w} commits or rolls back). */
    abstract <T> T write(Work<T> w) throws SQLException;

    @Override
    public abstract void close();

    /**
     * Flyway for {@code dialect}'s migrations; the caller sets the data source. A database that holds other tables
     * already (the cluster's rate limits beside the shared history) gets the history's schema table at version 0,
     * then the history's migrations.
     */
    static FluentConfiguration flyway(HistoryDialect dialect) {
        return Flyway.configure(HistoryConnections.class.getClassLoader()).locations(dialect.locations)
                .table(dialect.schemaTable).baselineOnMigrate(true).baselineVersion("0");
    }

    /** A failure to reach the database (no connection, one lost, the server shutting down): worth a retry. */
    static boolean unreachable(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.sql.SQLTransientConnectionException || t instanceof java.sql.SQLRecoverableException
                    || t instanceof SQLException s && s.getSQLState() != null
                    && (s.getSQLState().startsWith("08") || s.getSQLState().startsWith("57P"))) {
                return true;
            }
        }
        return false;
    }

    static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                log.debug("history: closing the connection: {}", e.getMessage());
            }
        }
    }

    /** SQLite's two connections. */
    static final class Held extends HistoryConnections {
        private final Connection writer;
        private final Connection reader;

        Held(Connection writer, Connection reader) {
            super(HistoryDialect.SQLITE);
            this.writer = writer;
            this.reader = reader;
        }

        @Override
        <T> T read(Work<T> w) throws SQLException {
            synchronized (reader) {
                return w.run(reader);
            }
        }

        @Override
        <T> T write(Work<T> w) throws SQLException {
            synchronized (writer) {
                try {
                    return w.run(writer);
                } catch (SQLException | RuntimeException e) {
                    reopenTransaction();
                    throw e;
                }
            }
        }

        /**
         * After a failure SQLite may have rolled the transaction back itself (SQLITE_FULL does): the driver's own
         * rollback then fails and it opens no new transaction, and every later commit would fail with "no
         * transaction is active". Leaving and re-entering manual commit opens one again.
         */
        private void reopenTransaction() {
            try {
                writer.setAutoCommit(true); // commits an open (empty) transaction, or fails when there is none
            } catch (SQLException none) {
                log.debug("history: no transaction to end: {}", none.getMessage());
            }
            try {
                writer.setAutoCommit(false);
            } catch (SQLException e) {
                log.debug("history: reopening the transaction: {}", e.getMessage());
            }
        }

        @Override
        public void close() {
            synchronized (reader) {
                closeQuietly(reader);
            }
            synchronized (writer) {
                closeQuietly(writer);
            }
        }
    }

    /** A pool (PostgreSQL); the schema migrated once, at the first call that reaches the database. */
    static final class Pooled extends HistoryConnections {
        private final DataSource source;
        private final AutoCloseable closer;
        private volatile boolean migrated;

        /** @param closer closes the pool with the store (null: its owner closes it) */
        Pooled(HistoryDialect dialect, DataSource source, AutoCloseable closer) {
            super(dialect);
            this.source = source;
            this.closer = closer;
        }

        /** Creates or updates the tables; throws (and is tried again at the next call) while unreachable. */
        void migrate() throws SQLException {
            if (migrated) {
                return;
            }
            synchronized (this) {
                if (!migrated) {
                    try {
                        flyway(dialect).dataSource(source).load().migrate();
                    } catch (RuntimeException e) { // Flyway's own: the cause says whether the database was down
                        throw new SQLException("history schema: " + e.getMessage(), e);
                    }
                    migrated = true;
                }
            }
        }

        @Override
        <T> T read(Work<T> w) throws SQLException {
            migrate();
            try (Connection c = source.getConnection()) {
                c.setAutoCommit(true);
                return w.run(c);
            }
        }

        @Override
        <T> T write(Work<T> w) throws SQLException {
            migrate();
            try (Connection c = source.getConnection()) {
                c.setAutoCommit(false);
                try {
                    return w.run(c);
                } finally {
                    try {
                        c.rollback(); // nothing left open in the pool (after a commit, a no-op)
                    } catch (SQLException lost) {
                        log.debug("history: rollback: {}", lost.getMessage());
                    }
                }
            }
        }

        @Override
        public void close() {
            if (closer != null) {
                try {
                    closer.close();
                } catch (Exception e) {
                    log.debug("history: closing the pool: {}", e.getMessage());
                }
            }
        }
    }
}
