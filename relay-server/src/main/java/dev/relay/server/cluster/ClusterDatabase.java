package dev.relay.server.cluster;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.relay.config.ClusterConfig;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;

/**
 * The connections to {@code cluster.database} (a small pool; a relay starts, and keeps delivering, while the
 * database is down: every call then fails within seconds) and its schema, migrated by Flyway from
 * {@code db/cluster} at the first call that reaches the database.
 */
final class ClusterDatabase implements AutoCloseable {
    /** The longest a call waits for a connection, or for an answer, before the caller falls back. */
    static final int CONNECT_SECONDS = 2;
    static final int SOCKET_SECONDS = 5;

    private final HikariDataSource pool;
    private volatile boolean migrated;

    ClusterDatabase(ClusterConfig cluster) {
        this.pool = pool(cluster, "relay-cluster", 4);
    }

    /**
     * A pool of at most {@code size} connections to {@code cluster.database}, with the settings every use of it
     * shares (the URL, user and password of {@code cluster.*}, the timeouts, no GSSAPI); it starts without the
     * database.
     */
    static HikariDataSource pool(ClusterConfig cluster, String name, int size) {
        HikariConfig c = new HikariConfig();
        c.setPoolName(name);
        c.setJdbcUrl(cluster.database().jdbcUrl());
        c.setUsername(cluster.database().user());
        c.setPassword(cluster.password());
        c.setMaximumPoolSize(size);
        c.setMinimumIdle(1);
        c.setConnectionTimeout(CONNECT_SECONDS * 1000L);
        c.setValidationTimeout(1000);
        c.setInitializationFailTimeout(-1); // start without the database: the quotas fall back until it is there
        c.addDataSourceProperty("connectTimeout", CONNECT_SECONDS);
        c.addDataSourceProperty("socketTimeout", SOCKET_SECONDS);
        c.addDataSourceProperty("ApplicationName", "relay " + cluster.replicaName());
        // password authentication only: the release's runtime has no java.security.jgss (Kerberos)
        c.addDataSourceProperty("gssEncMode", "disable");
        return new HikariDataSource(c);
    }

    DataSource dataSource() {
        return pool;
    }

    /** Creates or updates the tables once; throws (and is tried again at the next call) while unreachable. */
    void migrate() {
        if (migrated) {
            return;
        }
        synchronized (this) {
            if (!migrated) {
                // the shared history's tables may be there first (baseline 0, then the cluster's migrations)
                Flyway.configure().dataSource(pool).locations("classpath:db/cluster")
                        .table("relay_cluster_schema_history").baselineOnMigrate(true).baselineVersion("0")
                        .load().migrate();
                migrated = true;
            }
        }
    }

    @Override
    public void close() {
        pool.close();
    }
}
