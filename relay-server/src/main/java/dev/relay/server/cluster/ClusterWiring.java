package dev.relay.server.cluster;

import com.zaxxer.hikari.HikariDataSource;
import dev.relay.config.ClusterConfig;
import dev.relay.core.delivery.SharedQuota;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster of a running relay: the database, the shared quotas the delivery engines take their tokens from, and
 * what operators see of them: {@code relay_cluster_database_up}, {@code relay_rate_limit_fallback{upstream}},
 * {@code relay_cluster_quota_requests_total{upstream}}, one WARN line per change of the database's reachability,
 * and the {@code cluster} detail of {@code /readyz} (never a reason to be unready: the relay keeps delivering at its
 * share of each rate).
 */
public final class ClusterWiring implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterWiring.class);

    private final ClusterConfig config;
    private final MeterRegistry registry;
    private final ClusterDatabase database;
    private final PostgresQuota quota;
    private final AtomicInteger up = new AtomicInteger(-1); // -1: not tried yet
    private final Map<String, AtomicInteger> fallback = new ConcurrentHashMap<>();

    private ClusterWiring(ClusterConfig config, MeterRegistry registry) {
        this.config = config;
        this.registry = registry;
        this.database = new ClusterDatabase(config);
        this.quota = new PostgresQuota(database, config.expectedReplicas(), this::reached, this::fallback);
        Gauge.builder("relay.cluster.database.up", up, u -> Math.max(0, u.get()))
                .description("1 while cluster.database answers (the rate limits are shared), 0 while it does not "
                        + "(each replica sends at rate / cluster.expected-replicas)")
                .register(registry);
    }

    /** The cluster of {@code config}, or null when {@code cluster.database} is not set. */
    public static ClusterWiring start(ClusterConfig config, MeterRegistry registry) {
        if (!config.enabled()) {
            return null;
        }
        ClusterWiring cluster = new ClusterWiring(config, registry);
        try {
            cluster.database.migrate();
            cluster.reached(null, true);
        } catch (RuntimeException e) {
            LOG.warn("cluster.database {} cannot be reached ({}); delivering at rate / {} per upstream until it can",
                    config.database(), e.getMessage(), config.expectedReplicas());
            cluster.up.set(0);
        }
        LOG.info("cluster: replica {} of {} expected, rate limits shared in {}", config.replicaName(),
                config.expectedReplicas(), config.database());
        return cluster;
    }

    /**
     * The pool of the history shared in {@code cluster.database}: the cluster's settings, a pool of its own (a
     * history batch or a search never makes a delivery's rate-limit round trip wait for a connection): the
     * writer's connection and two for reads.
     */
    public static HikariDataSource historyPool(ClusterConfig config) {
        return ClusterDatabase.pool(config, "relay-history", 3);
    }

    /** What the delivery engines share their rate limits through. */
    public SharedQuota quota() {
        return quota;
    }

    /** The {@code cluster} detail of {@code /readyz}: informational, never failing readiness. */
    public Map<String, String> readinessDetails() {
        Map<String, String> details = new TreeMap<>();
        String who = "replica " + config.replicaName() + " of " + config.expectedReplicas() + " expected";
        if (up.get() == 0) {
            details.put("cluster", "database unreachable: " + who + " sends at rate / " + config.expectedReplicas()
                    + " per upstream until it answers again");
        } else {
            details.put("cluster", "database reachable: rate limits shared (" + who + ")");
        }
        fallback.forEach((upstream, on) -> {
            if (on.get() == 1) {
                details.put("rate-limit:" + upstream, "fallback: rate / " + config.expectedReplicas());
            }
        });
        return details;
    }

    /** After a round trip of {@code upstream}'s limiter (null: the start's), whether the database answered. */
    private void reached(String upstream, boolean ok) {
        if (upstream != null) {
            requested(upstream);
        }
        int was = up.getAndSet(ok ? 1 : 0);
        if (was == 1 && !ok) {
            LOG.warn("cluster.database {} stopped answering: each upstream falls back to rate / {} on this replica",
                    config.database(), config.expectedReplicas());
        } else if (was == 0 && ok) {
            LOG.warn("cluster.database {} answers again: the rate limits are shared again", config.database());
        }
    }

    private void fallback(String upstream, boolean on) {
        gauge(upstream).set(on ? 1 : 0);
    }

    /** Counts a database round trip of {@code upstream}'s limiter (the gauge's series appears with it). */
    private void requested(String upstream) {
        gauge(upstream);
        Counter.builder("relay.cluster.quota.requests").tag("upstream", upstream)
                .description("Round trips to cluster.database for the upstream's shared rate limit (each takes a "
                        + "batch of tokens)")
                .register(registry).increment();
    }

    private AtomicInteger gauge(String upstream) {
        return fallback.computeIfAbsent(upstream, u -> {
            AtomicInteger g = new AtomicInteger();
            Gauge.builder("relay.rate.limit.fallback", g, AtomicInteger::get).tag("upstream", u)
                    .description("1 while the upstream's rate limit runs on this replica's share (rate / "
                            + "cluster.expected-replicas) because cluster.database cannot be reached")
                    .register(registry);
            return g;
        });
    }

    @Override
    public void close() {
        database.close();
    }
}
