package dev.relay.server.setup;

import dev.relay.config.ListenerConfig;
import dev.relay.config.RelayConfig;
import dev.relay.config.TlsMode;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.Optional;

/**
 * The heap a configuration's sessions could need, against the heap the JVM may grow to: {@code relay serve} logs
 * both at start, and warns when the sessions that {@code limits.max-connections} admits would not fit. The figures
 * are measured (docs/performance.md, "Memory"): about 35 KiB of heap per idle TLS session (10,000 held 334 MiB of
 * old generation), less without TLS, and 64 MiB for the relay itself under load (its old generation reached about
 * 50 MiB after 20,000 messages at 32 connections, garbage not yet collected included; the rest is margin).
 */
public final class HeapCheck {
    static final long BASE = 64L << 20;
    static final long PER_TLS_SESSION = 40L << 10;
    static final long PER_PLAIN_SESSION = 16L << 10;

    private HeapCheck() {
    }

    /** Bytes of heap that the configuration's sessions at their limit, and the relay, could need. */
    public static long need(RelayConfig config) {
        long need = BASE;
        for (ListenerConfig l : config.listeners()) {
            need += (long) config.limits().maxConnections()
                    * (l.tls() == TlsMode.NONE ? PER_PLAIN_SESSION : PER_TLS_SESSION);
        }
        return need;
    }

    /** The line {@code relay serve} logs at start: the heap limit, the collector and the estimated need. */
    public static String summary(RelayConfig config, long maxHeap) {
        return "memory: the heap may grow to " + mib(maxHeap) + " MiB (" + collectors() + "); the sessions of "
                + "limits.max-connections and the relay need about " + mib(need(config)) + " MiB";
    }

    /** A warning when the heap cannot hold the sessions the configuration admits; empty when it can. */
    public static Optional<String> warning(RelayConfig config, long maxHeap) {
        long need = need(config);
        if (maxHeap >= need) {
            return Optional.empty();
        }
        return Optional.of("memory: limits.max-connections (" + config.limits().maxConnections() + " sessions on each of "
                + config.listeners().size() + " listener" + (config.listeners().size() == 1 ? "" : "s")
                + ") could need about " + mib(need) + " MiB of heap, and the heap may grow to " + mib(maxHeap)
                + " MiB only: give the relay more memory (bin/relay gives the heap half of the machine's or the "
                + "container's memory, at most 768 MiB), set the heap with RELAY_JAVA_OPTS=-Xmx" + mib(need)
                + "m, or lower limits.max-connections; sessions beyond what fits would run the heap out and stop "
                + "the relay");
    }

    private static long mib(long bytes) {
        return (bytes + (1 << 20) - 1) >> 20;
    }

    private static String collectors() {
        StringBuilder names = new StringBuilder();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            names.append(names.isEmpty() ? "" : ", ").append(gc.getName());
        }
        return names.isEmpty() ? "collector unknown" : "collectors " + names;
    }
}
