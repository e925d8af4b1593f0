package dev.relay.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

class TestPostgresTest {
    @Test
    void eachTestGetsItsOwnEmptyDatabaseOnTheSharedLoopbackServer() throws SQLException {
        TestPostgres pg = TestPostgres.shared();
        String a = pg.newDatabase();
        String b = pg.newDatabase();
        assertThat(a).isNotEqualTo(b);
        assertThat(pg.url(a)).isEqualTo("postgresql://postgres@127.0.0.1:" + pg.port() + "/" + a);
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl(a), "postgres", "");
             Statement s = c.createStatement()) {
            s.execute("CREATE TABLE t (x int)");
            s.execute("INSERT INTO t VALUES (42)");
            try (ResultSet r = s.executeQuery("SELECT x FROM t")) {
                assertThat(r.next()).isTrue();
                assertThat(r.getInt(1)).isEqualTo(42);
            }
        }
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl(b), "postgres", "");
             Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT count(*) FROM pg_tables WHERE tablename = 't'")) {
            r.next();
            assertThat(r.getInt(1)).isZero();
        }
    }

    @Test
    void aStoppedServerRefusesConnectionsAndComesBackWithItsData() throws SQLException {
        TestPostgres pg = TestPostgres.shared();
        String db = pg.newDatabase();
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl(db), "postgres", "")) {
            c.createStatement().execute("CREATE TABLE kept (x int)");
        }
        pg.stop();
        try {
            assertThatThrownBy(() -> DriverManager.getConnection(pg.jdbcUrl(db), "postgres", ""))
                    .isInstanceOf(SQLException.class);
        } finally {
            pg.restart();
        }
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl(db), "postgres", "");
             ResultSet r = c.createStatement().executeQuery("SELECT count(*) FROM kept")) {
            r.next();
            assertThat(r.getInt(1)).isZero();
        }
    }
}
