package dev.relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterConfigTest {
    @Test
    void offUntilTheDatabaseIsSetAndThenNamedByHostNameByDefault(@TempDir Path dir) {
        ClusterConfig off = Fixtures.minimalWith(dir, "", Map.of()).cluster();
        assertThat(off.enabled()).isFalse();
        assertThat(Fixtures.minimalWith(dir, "", Map.of()).toMaskedYaml()).doesNotContain("cluster:");
        ClusterConfig on = Fixtures.minimalWith(dir, "cluster: { database: \"postgresql://relay@db.example.com/relay\", "
                + "expected-replicas: 3 }", Map.of()).cluster();
        assertThat(on.enabled()).isTrue();
        assertThat(on.database()).isEqualTo(new ClusterConfig.Database("db.example.com", 5432, "relay", "relay", ""));
        assertThat(on.database().jdbcUrl()).isEqualTo("jdbc:postgresql://db.example.com:5432/relay");
        assertThat(on.replicaName()).isEqualTo(ClusterConfig.defaultReplicaName()).isNotBlank();
        assertThat(on.expectedReplicas()).isEqualTo(3);
        assertThat(on.password()).isNull();
    }

    @Test
    void everyKeyFromTheEnvironmentWithThePasswordFromItsFile(@TempDir Path dir) throws IOException {
        Path secret = Files.writeString(dir.resolve("pg-password"), "s3cret\n");
        ClusterConfig c = Fixtures.minimalWith(dir, "", Map.of("RELAY_CLUSTER_DATABASE",
                "jdbc:postgresql://[::1]:6543/mail?user=mailer&sslmode=require",
                "RELAY_CLUSTER_PASSWORD_FILE", secret.toString(), "RELAY_CLUSTER_REPLICA_NAME", "relay-2",
                "RELAY_CLUSTER_EXPECTED_REPLICAS", "5")).cluster();
        assertThat(c.database()).isEqualTo(new ClusterConfig.Database("::1", 6543, "mail", "mailer", "sslmode=require"));
        assertThat(c.database().jdbcUrl()).isEqualTo("jdbc:postgresql://[::1]:6543/mail?sslmode=require");
        assertThat(c.password()).isEqualTo("s3cret");
        assertThat(c.replicaName()).isEqualTo("relay-2");
        assertThat(c.expectedReplicas()).isEqualTo(5);
    }

    @Test
    void printedWithoutThePasswordAndLoadsBack(@TempDir Path dir) throws IOException {
        Path secret = Files.writeString(dir.resolve("pg-password"), "s3cret");
        RelayConfig c = Fixtures.minimalWith(dir, "cluster: { database: \"postgresql://relay@db:5433/relay\", password-file: " + secret
                + ", replica-name: relay-0, expected-replicas: 2 }", Map.of());
        String yaml = c.toMaskedYaml();
        assertThat(yaml).contains("cluster:", "postgresql://relay@db:5433/relay", "replica-name: relay-0",
                "expected-replicas: 2", "password: '****'").doesNotContain("s3cret");
        assertThat(c.toString()).doesNotContain("s3cret");
        RelayConfig again = ConfigLoader.load(Fixtures.write(dir, yaml.replace("password: '****'",
                "password-file: " + secret)), Map.of()).config();
        assertThat(again.cluster()).isEqualTo(c.cluster());
    }

    @Test
    void aBadValueNamesTheKeyAndTheFixAndNeverShowsAPassword(@TempDir Path dir) {
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> Fixtures.minimalWith(dir, "cluster: { database: \"postgresql://relay:hunter2@db/relay\", expected-replicas: 2 }",
                        Map.of()));
        assertThat(e.problems()).singleElement().satisfies(p -> {
            assertThat(p.key()).isEqualTo("cluster.database");
            assertThat(p.message()).contains("password", "cluster.password-file");
        });
        assertThat(e.getMessage()).doesNotContain("hunter2");
        e = catchThrowableOfType(ConfigException.class,
                () -> Fixtures.minimalWith(dir, "cluster: { database: \"mysql://db/relay\", expected-replicas: 2 }", Map.of()));
        assertThat(e.problems()).singleElement().satisfies(p -> assertThat(p.message()).contains("only PostgreSQL"));
        e = catchThrowableOfType(ConfigException.class,
                () -> Fixtures.minimalWith(dir, "cluster: { database: \"postgresql://relay@db\", expected-replicas: 2 }", Map.of()));
        assertThat(e.problems()).singleElement().satisfies(p -> assertThat(p.message()).contains("no database"));
        e = catchThrowableOfType(ConfigException.class,
                () -> Fixtures.minimalWith(dir, "cluster: { database: \"postgresql://relay@db/relay\" }", Map.of()));
        assertThat(e.problems()).singleElement().satisfies(p -> {
            assertThat(p.key()).isEqualTo("cluster.expected-replicas");
            assertThat(p.message()).contains("RELAY_CLUSTER_EXPECTED_REPLICAS", "rate / expected-replicas");
        });
        e = catchThrowableOfType(ConfigException.class, () -> Fixtures.minimalWith(dir, "cluster: { database: \"postgresql://r@db/relay\", "
                + "expected-replicas: 2, replica-name: \"bad name\" }", Map.of()));
        assertThat(e.problems()).singleElement().satisfies(p -> assertThat(p.key()).isEqualTo("cluster.replica-name"));
    }
}
