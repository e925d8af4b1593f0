package dev.relay.testkit;

import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * A provider's sending quota for {@link TestUpstream#mailReply}: at most {@code limit} transactions (MAIL commands)
 * accepted in each second of the wall clock; above it MAIL gets {@code 454 4.7.0 Throttling failure} as from
 * Amazon SES. Counts what it accepted per second and what it refused.
 */
public final class PerSecondQuota implements IntFunction<String> {
    public static final String THROTTLED = "454 4.7.0 Throttling failure: Maximum sending rate exceeded.";

    private final int limit;
    private final Map<Long, Integer> accepted = new TreeMap<>();
    private final AtomicInteger refused = new AtomicInteger();

    public PerSecondQuota(int limit) {
        this.limit = limit;
    }

    @Override
    public synchronized String apply(int transaction) {
        long second = Instant.now().getEpochSecond();
        int n = accepted.getOrDefault(second, 0);
        if (n >= limit) {
            refused.incrementAndGet();
            return THROTTLED;
        }
        accepted.put(second, n + 1);
        return null;
    }

    /** Transactions accepted in each second (epoch seconds, in order); seconds without any are absent. */
    public synchronized Map<Long, Integer> acceptedPerSecond() {
        return new TreeMap<>(accepted);
    }

    /** MAIL commands answered with {@link #THROTTLED}. */
    public int refused() {
        return refused.get();
    }
}
