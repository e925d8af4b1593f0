package dev.relay.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The message history (receipt, delivery attempts with the upstream's replies, outcome, operator actions), kept in
 * an SQLite file; with {@code cluster.database}, in that PostgreSQL database, shared by the replicas ({@code path}
 * and {@code maxSize} then do not apply).
 *
 * @param enabled       record the history; default true
 * @param path          the SQLite file; null: {@code history.db} in the spool directory (beside the queue, on the
 *                      same disk, writable wherever the spool is)
 * @param retention     how long a message's history is kept after its receipt; default 30 days
 * @param maxSize       the largest the file may grow (bytes): past it the oldest messages are removed; default 1 GiB
 * @param maskAddresses store mail addresses as {@code j***@example.com} (first character of the local part, then
 *                      the domain); default false
 * @param subject       store the {@code Subject:} of each message; default false (it may be personal data)
 * @param buffer        history records waiting for the writer thread at most; beyond, records are dropped (counted),
 *                      never mail; default 10,000
 */
public record HistoryConfig(boolean enabled, Path path, Duration retention, long maxSize, boolean maskAddresses,
                            boolean subject, int buffer) {
    public static final Duration DEFAULT_RETENTION = Duration.ofDays(30);
    public static final long DEFAULT_MAX_SIZE = 1024L * 1024 * 1024;
    public static final int DEFAULT_BUFFER = 10_000;
    /** The file name in the spool directory when {@code history.path} is not set. */
    public static final String DEFAULT_FILE = "history.db";

    public HistoryConfig {
        retention = retention == null ? DEFAULT_RETENTION : retention;
    }

    public static HistoryConfig defaults() {
        return new HistoryConfig(true, null, DEFAULT_RETENTION, DEFAULT_MAX_SIZE, false, false, DEFAULT_BUFFER);
    }

    /** The file the history is kept in: {@code path}, else {@code history.db} in {@code spoolDir}. */
    public Path file(Path spoolDir) {
        return path != null ? path : spoolDir.resolve(DEFAULT_FILE);
    }

    static void check(HistoryConfig h, Problems p) {
        if (h.retention.compareTo(Duration.ofHours(1)) < 0) {
            p.error("history.retention", Durations.format(h.retention),
                    "the history must be kept at least 1h: set history.retention (RELAY_HISTORY_RETENTION) to e.g. "
                            + "30d, or history.enabled: false to keep none");
        }
        if (h.maxSize < 1024L * 1024) {
            p.error("history.max-size", Sizes.format(h.maxSize),
                    "the history file needs at least 1 MiB: set history.max-size (RELAY_HISTORY_MAX_SIZE) to e.g. 1g");
        }
        if (h.buffer < 100 || h.buffer > 1_000_000) {
            p.error("history.buffer", Integer.toString(h.buffer),
                    "the history buffer holds 100 to 1000000 records: set history.buffer (RELAY_HISTORY_BUFFER) to "
                            + "e.g. 10000");
        }
        if (h.path != null && h.path.getFileName() == null) {
            p.error("history.path", h.path.toString(), "history.path names a file, e.g. /var/spool/relay/history.db");
        }
    }
}
