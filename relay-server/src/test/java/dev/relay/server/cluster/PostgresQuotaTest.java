package dev.relay.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.relay.config.ClusterConfig;
import dev.relay.core.delivery.SharedQuota;
import dev.relay.core.delivery.UpstreamTarget;
import dev.relay.testkit.TestPostgres;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The shared quota on a real PostgreSQL (TestPostgres), as three replicas would use it. */
class PostgresQuotaTest {
    private static final UpstreamTarget.Rate TWENTY = new UpstreamTarget.Rate(20, 0);

    private static ClusterConfig cluster(TestPostgres pg, String db, String replica) {
        return new ClusterConfig(ClusterConfig.Database.parse(pg.url(db)), null, replica, 3);
    }

    @Test
    void threeReplicasTakingAsFastAsTheyCanGetAtMost20TokensInEverySecondOfTheWallClock() throws Exception {
        TestPostgres pg = TestPostgres.shared();
        String db = pg.newDatabase();
        ConcurrentMap<Long, Long> perSecond = new ConcurrentHashMap<>();
        List<java.util.concurrent.Future<?>> replicas = new ArrayList<>();
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(3);
        List<ClusterWiring> wirings = new ArrayList<>();
        for (int r = 0; r < 3; r++) {
            wirings.add(ClusterWiring.start(cluster(pg, db, "relay-" + r), new SimpleMeterRegistry()));
        }
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3_500);
        for (ClusterWiring wiring : wirings) {
            SharedQuota quota = wiring.quota();
            replicas.add(threads.submit(() -> {
                while (System.nanoTime() < until) {
                    try {
                        SharedQuota.Grant g = quota.take("ses", TWENTY, 5);
                        long second = Instant.now().getEpochSecond();
                        if (g.tokens() > 0) {
                            assertThat(g.nanosValid()).isPositive().isLessThanOrEqualTo(TimeUnit.SECONDS.toNanos(1));
                            perSecond.merge(second, g.tokens(), Long::sum);
                        } else {
                            assertThat(g.nanosToWait()).isPositive().isLessThanOrEqualTo(TimeUnit.SECONDS.toNanos(1));
                        }
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                }
            }));
        }
        for (java.util.concurrent.Future<?> f : replicas) {
            f.get(); // an assertion that failed in a replica fails here
        }
        threads.shutdown();
        wirings.forEach(ClusterWiring::close);
        Map<Long, Long> seconds = new TreeMap<>(perSecond);
        assertThat(seconds.values()).allSatisfy(n -> assertThat(n).isLessThanOrEqualTo(20));
        // the full seconds in the middle used the quota (the first and the last may be partial)
        List<Long> counts = new ArrayList<>(seconds.values());
        assertThat(counts.subList(1, counts.size() - 1)).isNotEmpty().allSatisfy(n -> assertThat(n).isEqualTo(20));
    }

    @Test
    void aStoppedDatabaseIsReportedAndTheQuotaWorksAgainWhenItIsBack() throws Exception {
        TestPostgres pg = TestPostgres.shared();
        String db = pg.newDatabase();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (ClusterWiring wiring = ClusterWiring.start(cluster(pg, db, "relay-0"), registry)) {
            assertThat(registry.get("relay.cluster.database.up").gauge().value()).isEqualTo(1);
            assertThat(wiring.readinessDetails()).containsEntry("cluster",
                    "database reachable: rate limits shared (replica relay-0 of 3 expected)");
            takeSome(wiring.quota());
            pg.stop();
            try {
                assertThatThrownBy(() -> takeSome(wiring.quota())).hasMessageContaining("cannot be reached");
                assertThat(registry.get("relay.cluster.database.up").gauge().value()).isZero();
                wiring.quota().fallback("ses", true);
                assertThat(registry.get("relay.rate.limit.fallback").tag("upstream", "ses").gauge().value())
                        .isEqualTo(1);
                assertThat(wiring.readinessDetails()).containsEntry("rate-limit:ses", "fallback: rate / 3")
                        .hasEntrySatisfying("cluster", d -> assertThat(d).startsWith("database unreachable"));
            } finally {
                pg.restart();
            }
            takeSome(wiring.quota());
            wiring.quota().fallback("ses", false);
            assertThat(registry.get("relay.cluster.database.up").gauge().value()).isEqualTo(1);
            assertThat(registry.get("relay.rate.limit.fallback").tag("upstream", "ses").gauge().value()).isZero();
            assertThat(registry.get("relay.cluster.quota.requests").tag("upstream", "ses").counter().count())
                    .isGreaterThanOrEqualTo(3);
        }
    }

    @Test
    void theSharedHistoryAndTheQuotaMigrateTheSameDatabaseInEitherOrder() throws Exception {
        TestPostgres pg = TestPostgres.shared();
        for (boolean historyFirst : new boolean[] {true, false}) {
            ClusterConfig config = cluster(pg, pg.newDatabase(), "relay-0");
            com.zaxxer.hikari.HikariDataSource pool = ClusterWiring.historyPool(config);
            dev.relay.history.HistoryStore history = dev.relay.history.HistoryStore.openShared(pool, pool, false,
                    "relay-0");
            try {
                if (historyFirst) {
                    assertThat(history.schemaVersion()).isEqualTo("2");
                }
                SimpleMeterRegistry registry = new SimpleMeterRegistry();
                try (ClusterWiring wiring = ClusterWiring.start(config, registry)) {
                    assertThat(registry.get("relay.cluster.database.up").gauge().value()).isEqualTo(1);
                    takeSome(wiring.quota());
                }
                // the other's tables were there first: a baseline at 0, then its own migrations
                assertThat(history.schemaVersion()).isEqualTo("2");
                assertThat(history.count()).isZero();
            } finally {
                history.close();
            }
        }
    }

    /** Takes from the bucket until a grant comes from the database (not the end-of-second answer). */
    private static void takeSome(SharedQuota quota) throws Exception {
        for (int i = 0; i < 50; i++) {
            SharedQuota.Grant g = quota.take("ses", TWENTY, 5);
            if (g.nanosValid() > 0) {
                return;
            }
            Thread.sleep(TimeUnit.NANOSECONDS.toMillis(g.nanosToWait()) + 1);
        }
        throw new AssertionError("no grant from the database");
    }

    @Test
    void theWindowIsASecondOfTheWallClockOrOneTokensTimeBelowOnePerSecond() {
        long s = TimeUnit.SECONDS.toNanos(1);
        assertThat(PostgresQuota.windowEnd(TWENTY, 5 * s + 300)).isEqualTo(6 * s);
        UpstreamTarget.Rate half = new UpstreamTarget.Rate(0.5, 0);
        assertThat(PostgresQuota.period(half)).isEqualTo(2 * s);
        assertThat(PostgresQuota.windowEnd(half, 5 * s)).isEqualTo(6 * s);
        assertThat(PostgresQuota.key("ses", new UpstreamTarget.Rate(14, 50_000))).isEqualTo("ses|14.0/50000");
        assertThat(PostgresQuota.configuration(new UpstreamTarget.Rate(14, 50_000)).getBandwidths()).hasSize(2);
    }
}
