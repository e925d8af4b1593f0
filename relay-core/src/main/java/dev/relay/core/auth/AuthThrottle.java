package dev.relay.core.auth;

import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Failed-AUTH counting per client address and per user: each failure makes the next answer slower (the delay
 * doubles, up to 16 times the base), and {@code maxFailures} failures within the lockout period lock the address
 * or the user out for that period. A success forgets the user's failures (not the address's: one valid account
 * must not reset the count of an address that guesses others). IPv6 clients are counted per /64, since one host
 * usually has a whole /64 ({@link ClientAddress}). The table is bounded: an attacker spreading over many addresses
 * cannot grow it without limit.
 *
 * <p>The per-user lockout slows password guessing down, but it must not let a stranger lock a user's own
 * application out. So a successful AUTH remembers the pair (user, client address, IPv6 per /64) for
 * {@link #KNOWN_CLIENT_PERIOD}, and a known pair passes the per-user lockout (never the per-address one): it still
 * has to give the right password, and its own failures still count. That table is bounded as well.
 */
public final class AuthThrottle {
    static final int MAX_ENTRIES = 100_000;
    /** How long a successful (user, address) pair stays known, renewed by each success. */
    public static final Duration KNOWN_CLIENT_PERIOD = Duration.ofDays(30);
    private static final int MAX_DELAY_FACTOR = 16;

    private final InstantSource clock;
    private volatile int maxFailures;
    private volatile Duration lockout;
    private volatile Duration baseDelay;
    private final AuthListener listener;
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    /** (user, address key) of successful AUTHs: when each was last seen. */
    private final Map<String, Instant> known = new ConcurrentHashMap<>();

    private record Entry(int failures, Instant last, Instant lockedUntil) {
    }

    public AuthThrottle(InstantSource clock, int maxFailures, Duration lockout, Duration baseDelay,
                        AuthListener listener) {
        if (maxFailures < 1) {
            throw new IllegalArgumentException("maxFailures must be at least 1");
        }
        this.clock = clock;
        this.maxFailures = maxFailures;
        this.lockout = lockout;
        this.baseDelay = baseDelay;
        this.listener = listener;
    }

    /**
     * Changes the settings (a configuration reload); failures counted so far and lockouts in force stay, and
     * are judged by the new settings from now on.
     */
    public void settings(int maxFailures, Duration lockout, Duration baseDelay) {
        if (maxFailures < 1) {
            throw new IllegalArgumentException("maxFailures must be at least 1");
        }
        this.maxFailures = maxFailures;
        this.lockout = lockout;
        this.baseDelay = baseDelay;
    }

    /** How long the client address is still locked out, if it is. */
    public Optional<Duration> addressLocked(InetAddress client) {
        return locked(addressKey(client));
    }

    /**
     * How long the user is still locked out for {@code client}, if it is: never for a client that authenticated
     * as {@code user} from the same address (IPv6: /64) within {@link #KNOWN_CLIENT_PERIOD}.
     */
    public Optional<Duration> userLocked(String user, InetAddress client) {
        Optional<Duration> locked = locked(userKey(user));
        if (locked.isEmpty()) {
            return locked;
        }
        Instant seen = known.get(knownKey(user, client));
        return seen != null && clock.instant().isBefore(seen.plus(KNOWN_CLIENT_PERIOD)) ? Optional.empty() : locked;
    }

    /**
     * Records a failure of {@code user} (may be null when the exchange broke before a user was known) from
     * {@code client}.
     *
     * @return how long to wait before answering the client
     */
    public Duration failed(InetAddress client, String user) {
        int failures = record(addressKey(client));
        if (user != null) {
            failures = Math.max(failures, record(userKey(user)));
        }
        int factor = Math.min(MAX_DELAY_FACTOR, 1 << Math.min(30, Math.max(0, failures - 1)));
        return baseDelay.multipliedBy(factor);
    }

    /** Forgets the failures of {@code user} and remembers {@code client} as a known client of it. */
    public void succeeded(String user, InetAddress client) {
        entries.remove(userKey(user));
        Instant now = clock.instant();
        String key = knownKey(user, client);
        if (known.size() >= MAX_ENTRIES && !known.containsKey(key)) {
            evictKnown(now);
        }
        known.put(key, now);
    }

    private void evictKnown(Instant now) {
        known.values().removeIf(seen -> !now.isBefore(seen.plus(KNOWN_CLIENT_PERIOD)));
        if (known.size() >= MAX_ENTRIES) { // all recent: drop the oldest tenth rather than grow
            known.entrySet().stream().sorted(Map.Entry.comparingByValue()).limit(MAX_ENTRIES / 10)
                    .map(Map.Entry::getKey).toList().forEach(known::remove);
        }
    }

    int knownClients() {
        return known.size();
    }

    private Optional<Duration> locked(String key) {
        Entry e = entries.get(key);
        Instant now = clock.instant();
        if (e == null || e.lockedUntil() == null || !now.isBefore(e.lockedUntil())) {
            return Optional.empty();
        }
        return Optional.of(Duration.between(now, e.lockedUntil()));
    }

    private int record(String key) {
        Instant now = clock.instant();
        if (entries.size() >= MAX_ENTRIES && !entries.containsKey(key)) {
            evictExpired(now);
        }
        Entry updated = entries.compute(key, (k, e) -> {
            boolean forgotten = e == null || !now.isBefore(e.last().plus(lockout))
                    || e.lockedUntil() != null && !now.isBefore(e.lockedUntil());
            int failures = forgotten ? 1 : e.failures() + 1;
            Instant lockedUntil = failures >= maxFailures ? now.plus(lockout) : null;
            return new Entry(failures, now, lockedUntil);
        });
        if (updated.failures() == maxFailures) {
            listener.lockedOut();
        }
        return updated.failures();
    }

    private void evictExpired(Instant now) {
        for (Iterator<Entry> it = entries.values().iterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (!now.isBefore(e.last().plus(lockout))
                    && (e.lockedUntil() == null || !now.isBefore(e.lockedUntil()))) {
                it.remove();
            }
        }
        if (entries.size() >= MAX_ENTRIES) { // all fresh: drop arbitrary ones rather than grow
            Iterator<String> keys = entries.keySet().iterator();
            for (int i = 0; i < MAX_ENTRIES / 10 && keys.hasNext(); i++) {
                keys.next();
                keys.remove();
            }
        }
    }

    int size() {
        return entries.size();
    }

    static String addressKey(InetAddress client) {
        return ClientAddress.key(client);
    }

    private static String knownKey(String user, InetAddress client) {
        return addressKey(client) + " " + user;
    }

    private static String userKey(String user) {
        return "user:" + user;
    }
}
