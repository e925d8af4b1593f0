package dev.relay.history;

import dev.relay.testkit.TestPostgres;
import java.nio.file.Path;
import org.postgresql.ds.PGSimpleDataSource;

/** The history's two databases for tests: SQLite in a file, and PostgreSQL (TestPostgres) as the replicas share it. */
final class HistoryBackends {
    private HistoryBackends() {
    }

    /** A new empty database on the test server (a connection per call: no pool). */
    static PGSimpleDataSource newPostgres() {
        TestPostgres pg = TestPostgres.shared();
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(pg.jdbcUrl(pg.newDatabase()));
        ds.setUser("postgres");
        ds.setConnectTimeout(2);
        ds.setSocketTimeout(5);
        return ds;
    }

    /** The history on {@code backend} ("sqlite": in {@code dir}; "postgresql": a new database, replica "relay-a"). */
    static HistoryStore open(String backend, Path dir, boolean mask) throws Exception {
        return backend.equals("sqlite") ? HistoryStore.open(dir.resolve("history.db"), mask)
                : HistoryStore.openShared(newPostgres(), null, mask, "relay-a");
    }
}
