package dev.relay.server.receive;

import dev.relay.core.auth.ClientAddress;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connections of one listener, in all and per client: admits one up to {@code max-connections} and
 * {@code max-connections-per-client} (an IPv6 client counted per /64, as the AUTH throttle counts it:
 * {@link ClientAddress}), and refuses every one once a stop has begun.
 */
final class ConnectionCount {
    private static final Logger log = LoggerFactory.getLogger(SessionLimits.class); // its lines keep their name

    private final String listener;
    private final int maxTotal;
    private final IntSupplier maxPerClient; // the limit now in force: reloads change it
    private final Refusal.Listener refusals;
    private final Map<String, Integer> perClient = new HashMap<>(); // by ClientAddress.key
    private int total;
    private boolean draining;

    ConnectionCount(String listener, int maxTotal, IntSupplier maxPerClient, Refusal.Listener refusals) {
        this.listener = listener;
        this.maxTotal = maxTotal;
        this.maxPerClient = maxPerClient;
        this.refusals = refusals;
    }

    /**
     * Counts a connection from {@code client} against the limits; the refusal, or null if admitted (and counted).
     * IPv6 clients are counted per /64: one host usually has a whole /64.
     */
    synchronized SmtpReplies admit(InetAddress client) {
        if (draining) {
            log.info("connection from {} on {} refused: shutting down", client, listener);
            return SmtpReplies.SHUTTING_DOWN;
        }
        if (total >= maxTotal) {
            log.info("connection from {} on {} refused: {} connections already", client, listener, total);
            refusals.refused(Refusal.TOO_MANY_CONNECTIONS);
            return SmtpReplies.TOO_MANY_CONNECTIONS;
        }
        String key = ClientAddress.key(client);
        int mine = perClient.getOrDefault(key, 0);
        if (mine >= maxPerClient.getAsInt()) {
            log.info("connection from {} on {} refused: {} connections from {} already", client, listener, mine,
                    client instanceof Inet6Address ? "its /64" : "that address");
            refusals.refused(Refusal.TOO_MANY_CONNECTIONS_FROM_CLIENT);
            return SmtpReplies.TOO_MANY_CONNECTIONS_FROM_CLIENT;
        }
        perClient.put(key, mine + 1);
        total++;
        return null;
    }

    /** A connection from {@code client} counted by {@link #admit} has ended. */
    synchronized void release(InetAddress client) {
        total--;
        perClient.computeIfPresent(ClientAddress.key(client), (a, n) -> n <= 1 ? null : n - 1);
        notifyAll(); // awaitEnd
    }

    /** From now on every connection is refused with {@code 421 4.3.2}. */
    synchronized void refuseAll() {
        draining = true;
    }

    /** Waits until every connection has ended or {@code timeout} has passed; true if none is left. */
    synchronized boolean awaitEnd(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (total > 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    synchronized int open() {
        return total;
    }
}
