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
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
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

    /**
     * Begins opening the history's store as the configuration asks, or null when {@code history.enabled} is false.
     * The SQLite file opens on a thread of its own (its native library and Flyway's check of the schema: about
     * 100 ms at start, docs/performance.md "Start-up"), so the relay's start goes on meanwhile; {@link #start}
     * waits for it. The shared history reaches nothing at start and is made here.
     */
    static Opening open(RelayConfig config, Path spoolDir) {
        HistoryConfig h = config.history();
        if (!h.enabled()) {
            return null;
        }
        if (LoggerFactory.getLogger("org.flywaydb") instanceof ch.qos.logback.classic.Logger flyway
                && flyway.getLevel() == null) {
            flyway.setLevel(ch.qos.logback.classic.Level.WARN); // eight lines a start otherwise; ours says the version
        }
        Opening opening = new Opening(config.cluster().enabled() ? () -> shared(config)
                : () -> HistoryStore.open(h.file(spoolDir), h.maskAddresses()));
        if (config.cluster().enabled()) {
            opening.task.run();
        } else {
            Thread.ofPlatform().name("history-open").daemon(true).start(opening.task);
        }
        return opening;
    }

    /** A history store being opened; {@link #discard} closes it when the start fails before {@link #start}. */
    static final class Opening {
        private final long t0 = System.nanoTime();
        private volatile long t1;
        private final FutureTask<HistoryStore> task;

        private Opening(Callable<HistoryStore> open) {
            this.task = new FutureTask<>(() -> {
                try {
                    return open.call();
                } finally {
                    t1 = System.nanoTime();
                }
            });
        }

        /** The store, once open; the exception that kept it from opening (its cause) otherwise. */
        HistoryStore await() throws InterruptedException, ExecutionException {
            return task.get();
        }

        /** Waits for the store and closes it. */
        private void discard() {
            try {
                task.get().close();
            } catch (ExecutionException e) {
                log.debug("history: not opened: {}", e.getCause().toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * The running recorder, or null when {@code history.enabled} is false ({@code opening} null) or the store
     * could not be opened (logged: the relay takes mail without it).
     */
    static HistoryRecorder start(RelayConfig config, Opening opening, MeterRegistry registry)
            throws InterruptedException {
        HistoryConfig h = config.history();
        if (opening == null) {
            log.info("history: off (history.enabled: false)");
            return null;
        }
        HistoryStore store;
        try {
            store = opening.await();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Error error && !(error instanceof LinkageError)) {
                throw error;
            }
            log.error("history: off: {}", e.getCause().getMessage());
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
                (opening.t1 - opening.t0) / 1_000_000, dev.relay.config.Durations.format(h.retention()),
                h.maxSize() >> 20, h.maskAddresses() ? ", addresses masked" : "");
        return recorder.start();
    }

    /**
     * Closes the running recorder (it writes what is buffered first), or, after a start that failed before the
     * recorder started, the store once it has opened.
     */
    static void close(HistoryRecorder recorder, Opening opening) {
        if (recorder != null) {
            recorder.close();
        } else if (opening != null) {
            opening.discard();
        }
    }

    /** The history shared by the replicas in {@code cluster.database}, through a pool of the cluster's settings. */
    private static HistoryStore shared(RelayConfig config) {
        com.zaxxer.hikari.HikariDataSource pool = ClusterWiring.historyPool(config.cluster());
        return HistoryStore.openShared(pool, pool, config.history().maskAddresses(), config.cluster().replicaName());
    }
}
