package dev.relay.history;

import java.sql.SQLException;
import java.time.Duration;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The history writer while its database cannot be reached (the shared history in PostgreSQL): whether it is, how
 * long to wait before the next try (0.1 s doubling to 5 s), and one WARN line when it starts and one when it ends.
 * Only the writer thread changes it.
 */
final class WriterOutage {
    private static final Logger log = LoggerFactory.getLogger(HistoryRecorder.class);
    static final Duration FIRST = Duration.ofMillis(100);
    static final Duration MAX = Duration.ofSeconds(5);

    private final LongSupplier dropped;
    private final int capacity;
    private volatile boolean on;
    private long droppedBefore;
    private long wait;

    /** @param dropped the records dropped so far; {@code capacity} the buffer's */
    WriterOutage(LongSupplier dropped, int capacity) {
        this.dropped = dropped;
        this.capacity = capacity;
    }

    boolean on() {
        return on;
    }

    /** After a write that could not reach the database: how long to wait (ms) before the next try. */
    long failed(SQLException e) {
        if (!on) {
            droppedBefore = dropped.getAsLong();
            wait = FIRST.toMillis();
            on = true;
            log.warn("history: the database cannot be reached ({}): the writer keeps trying, the records wait in its "
                    + "buffer of {} and beyond it are dropped (relay_history_records_dropped_total counts them; mail "
                    + "is not affected)", e.getMessage(), capacity);
            return wait;
        }
        wait = Math.min(wait * 2, MAX.toMillis());
        return wait;
    }

    /** After a write that succeeded. */
    void succeeded() {
        if (on) {
            on = false;
            log.warn("history: the database answers again: the history is written again ({} records were dropped "
                    + "meanwhile)", dropped.getAsLong() - droppedBefore);
        }
    }
}
