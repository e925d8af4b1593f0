package dev.relay.server;

import dev.relay.config.HistoryConfig;
import dev.relay.config.RelayConfig;
import dev.relay.config.UpstreamConfig;
import dev.relay.history.HistoryRecorder;
import dev.relay.history.HistoryStore;
import dev.relay.server.cluster.ClusterWiring;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the message history as the configuration asks ({@code history.*}) and registers its metrics: in SQLite, or
 * with {@code cluster.database} set in PostgreSQL, shared by the replicas. A history that cannot be opened is logged
 * and left off: it never keeps the relay from taking mail.
 */
final class HistoryWiring {
    private static final Logger log = LoggerFactory.getLogger(HistoryWiring.class);

    private HistoryWiring() {
    }

    /** The running recorder, or null when {@code history.enabled} is false or the file cannot be opened. */
    static HistoryRecorder start(RelayConfig config, Path spoolDir, MeterRegistry registry) {
        HistoryConfig h = config.history();
        if (!h.enabled()) {
            log.info("history: off (history.enabled: false)");
            return null;
        }
        HistoryStore store;
        if (LoggerFactory.getLogger("org.flywaydb") instanceof ch.qos.logback.classic.Logger flyway
                && flyway.getLevel() == null) {
            flyway.setLevel(ch.qos.logback.classic.Level.WARN); // eight lines a start otherwise; ours says the version
        }
        long t0 = System.nanoTime();
        try {
            store = config.cluster().enabled() ? shared(config)
                    : HistoryStore.open(h.file(spoolDir), h.maskAddresses());
        } catch (IOException | RuntimeException | LinkageError e) {
            log.error("history: off: {}", e.getMessage());
            return null;
        }
        Map<String, String> hosts = new HashMap<>();
        for (UpstreamConfig u : config.upstreams()) {
            hosts.put(u.name(), u.host() + ":" + u.port());
        }
        HistoryRecorder recorder = new HistoryRecorder(store, InstantSource.system(), h.retention(), h.maxSize(),
                h.buffer(), h.subject(), hosts::get);
        FunctionCounter.builder("relay.history.records.written", recorder, HistoryRecorder::written)
                .description("History records written to the history (its file, or the shared database)").register(registry);
        FunctionCounter.builder("relay.history.records.dropped", recorder, HistoryRecorder::dropped)
                .description("History records dropped because the history buffer was full, as it fills while the "
                        + "shared database cannot be reached (mail is not affected)")
                .register(registry);
        FunctionCounter.builder("relay.history.records.failed", recorder, HistoryRecorder::failedWrites)
                .description("History records lost because writing them to the history failed")
                .register(registry);
        FunctionCounter.builder("relay.history.messages.removed", recorder, HistoryRecorder::removed)
                .description("Messages removed from the history by history.retention or history.max-size")
                .register(registry);
        Gauge.builder("relay.history.buffer.records", recorder, HistoryRecorder::buffered)
                .description("History records waiting for the history writer").register(registry);
        if (store.shared()) { // nothing reached yet: the writer migrates the schema at its first call
            if (h.path() != null) {
                log.warn("history.path {} is not used: with cluster.database the history is in that database, "
                        + "shared by the replicas (remove history.path)", h.path());
            }
            log.info("history: shared in cluster.database {} as replica {} (retention {}; history.max-size does not "
                    + "apply to PostgreSQL{})", config.cluster().database(), store.replica(),
                    dev.relay.config.Durations.format(h.retention()), h.maskAddresses() ? "; addresses masked" : "");
            return recorder.start();
        }
        String version;
        try {
            version = store.schemaVersion();
        } catch (java.sql.SQLException e) {
            version = "?";
        }
        log.info("history: {} (schema v{}) opened in {} ms (retention {}, max size {} MiB{})", store.file(), version,
                (System.nanoTime() - t0) / 1_000_000, dev.relay.config.Durations.format(h.retention()),
                h.maxSize() >> 20, h.maskAddresses() ? ", addresses masked" : "");
        return recorder.start();
    }

    /** The history shared by the replicas in {@code cluster.database}, through a pool of the cluster's settings. */
    private static HistoryStore shared(RelayConfig config) {
        com.zaxxer.hikari.HikariDataSource pool = ClusterWiring.historyPool(config.cluster());
        return HistoryStore.openShared(pool, pool, config.history().maskAddresses(), config.cluster().replicaName());
    }
}
