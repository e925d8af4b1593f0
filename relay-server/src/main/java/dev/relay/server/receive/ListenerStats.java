package dev.relay.server.receive;

import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * What one listener counts for the metrics: connections admitted, and TLS handshakes (STARTTLS or implicit) by
 * the protocol version they ended with, or failed. The versions are the ones the relay enables (TLS 1.2 and 1.3),
 * so the label set is fixed.
 */
public final class ListenerStats {
    /** The {@code version} labels: every protocol the listeners enable, and {@code failed}. */
    public static final List<String> VERSIONS = List.of("TLSv1.2", "TLSv1.3", "failed");

    private final LongAdder opened = new LongAdder();
    private final LongAdder[] handshakes = {new LongAdder(), new LongAdder(), new LongAdder()};

    void opened() {
        opened.increment();
    }

    /** A handshake ended with {@code protocol} ({@code SSLSession.getProtocol()}), or failed when null. */
    void handshake(String protocol) {
        int i = protocol == null ? -1 : VERSIONS.indexOf(protocol);
        handshakes[i < 0 ? VERSIONS.size() - 1 : i].increment();
    }

    /** Connections admitted since the start (refused ones are counted by {@code relay_inbound_refused_total}). */
    public long connectionsOpened() {
        return opened.sum();
    }

    /** TLS handshakes that ended with {@code version}, one of {@link #VERSIONS}. */
    public long handshakes(String version) {
        return handshakes[VERSIONS.indexOf(version)].sum();
    }
}
