package dev.relay.core.auth;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-user quotas, so that one compromised application cannot burn the provider account: messages in any sliding
 * minute, and recipients in any sliding 24 hours (counted in hourly buckets, so a user costs at most 24 counters
 * and as many timestamps as its per-minute limit). A limit of 0 is no limit. The checks come at MAIL and RCPT;
 * what counts is only what was queued ({@link #queued}), so a refused message costs no quota. Sessions of one
 * user at the same moment may pass a check together and go over by what they queue at once.
 */
public final class UserQuotas {
    private static final Duration MINUTE = Duration.ofMinutes(1);
    private static final long HOUR_SECONDS = 3600;
    private static final int HOURS = 24;

    private final InstantSource clock;
    private volatile int messagesPerMinute;
    private volatile long recipientsPerDay;
    private final Map<String, Usage> users = new ConcurrentHashMap<>();

    private static final class Usage {
        final ArrayDeque<Instant> messages = new ArrayDeque<>(); // the last ones, at most messagesPerMinute
        final long[] recipients = new long[HOURS]; // by hour since the epoch, modulo 24
        final long[] hourOf = new long[HOURS]; // the hour each slot holds

        long recipientsInDay(long hour) {
            long sum = 0;
            for (int i = 0; i < HOURS; i++) {
                if (hourOf[i] > hour - HOURS && hourOf[i] <= hour) {
                    sum += recipients[i];
                }
            }
            return sum;
        }
    }

    public UserQuotas(InstantSource clock, int messagesPerMinute, long recipientsPerDay) {
        if (messagesPerMinute < 0 || recipientsPerDay < 0) {
            throw new IllegalArgumentException("quotas must not be negative (0 is no limit)");
        }
        this.clock = clock;
        this.messagesPerMinute = messagesPerMinute;
        this.recipientsPerDay = recipientsPerDay;
    }

    /**
     * Changes the quotas (a configuration reload); what was counted so far still counts. Quotas that were off
     * counted nothing, so turning one on counts from now.
     */
    public void limits(int messagesPerMinute, long recipientsPerDay) {
        if (messagesPerMinute < 0 || recipientsPerDay < 0) {
            throw new IllegalArgumentException("quotas must not be negative (0 is no limit)");
        }
        this.messagesPerMinute = messagesPerMinute;
        this.recipientsPerDay = recipientsPerDay;
    }

    /** True if quotas are configured at all. */
    public boolean enabled() {
        return messagesPerMinute > 0 || recipientsPerDay > 0;
    }

    /** True if {@code user} may start another message now. */
    public boolean mayStartMessage(String user) {
        int messagesPerMinute = this.messagesPerMinute; // one value for the whole check (reloads change it)
        if (messagesPerMinute == 0) {
            return true;
        }
        Usage u = users.get(user);
        if (u == null) {
            return true;
        }
        synchronized (u) {
            expire(u, clock.instant());
            return u.messages.size() < messagesPerMinute;
        }
    }

    /** True if {@code user} may add a recipient to a message that has {@code pending} recipients already. */
    public boolean mayAddRecipient(String user, int pending) {
        long recipientsPerDay = this.recipientsPerDay;
        if (recipientsPerDay == 0) {
            return true;
        }
        Usage u = users.get(user);
        long used = 0;
        if (u != null) {
            synchronized (u) {
                used = u.recipientsInDay(hour(clock.instant()));
            }
        }
        return used + pending + 1 <= recipientsPerDay;
    }

    /** Counts a message of {@code user} with {@code recipients} recipients, just queued. */
    public void queued(String user, int recipients) {
        int messagesPerMinute = this.messagesPerMinute;
        if (messagesPerMinute == 0 && recipientsPerDay == 0) {
            return;
        }
        Usage u = users.computeIfAbsent(user, k -> new Usage());
        Instant now = clock.instant();
        synchronized (u) {
            if (messagesPerMinute > 0) {
                expire(u, now);
                u.messages.addLast(now);
                while (u.messages.size() > messagesPerMinute) {
                    u.messages.removeFirst(); // only the newest ones decide
                }
            }
            long hour = hour(now);
            int slot = (int) Math.floorMod(hour, HOURS);
            if (u.hourOf[slot] != hour) {
                u.hourOf[slot] = hour;
                u.recipients[slot] = 0;
            }
            u.recipients[slot] += recipients;
        }
    }

    private static void expire(Usage u, Instant now) {
        while (!u.messages.isEmpty() && !u.messages.peekFirst().plus(MINUTE).isAfter(now)) {
            u.messages.removeFirst();
        }
    }

    private static long hour(Instant t) {
        return Math.floorDiv(t.getEpochSecond(), HOUR_SECONDS);
    }
}
