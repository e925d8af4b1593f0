package dev.relay.server.admin;

import dev.relay.core.delivery.DeliveryListener;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.queue.QueueListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;

/**
 * The relay's metrics (catalogue in docs/metrics.md). Names are under {@code relay.}; tags are low-cardinality
 * (never an address).
 */
public final class RelayMetrics implements QueueListener, DeliveryListener {
    private final MeterRegistry registry;
    private final Counter received;
    private final DistributionSummary receivedBytes;
    private final Counter delivered;
    private final Counter deferred;
    private final Counter failed;
    private final Timer endToEnd;

    public RelayMetrics(MeterRegistry registry) {
        this.registry = registry;
        received = Counter.builder("relay.messages.received")
                .description("Messages committed to the spool and acknowledged with 250").register(registry);
        receivedBytes = DistributionSummary.builder("relay.messages.received.size").baseUnit("bytes")
                .description("Size of received messages").register(registry);
        delivered = Counter.builder("relay.messages.delivered")
                .description("Delivery attempts in which the upstream accepted the message for some recipients")
                .register(registry);
        deferred = Counter.builder("relay.messages.deferred")
                .description("Delivery attempts that left recipients to retry (4xx, connection or TLS failure)")
                .register(registry);
        failed = Counter.builder("relay.messages.failed")
                .description("Delivery attempts in which recipients failed permanently (5xx)").register(registry);
        endToEnd = Timer.builder("relay.delivery.end.to.end")
                .description("Time from receipt to delivery").publishPercentileHistogram().register(registry);
    }

    @Override
    public void received(Envelope envelope, long size) {
        received.increment();
        receivedBytes.record(size);
    }

    @Override
    public void delivered(Envelope envelope, List<MailAddress> recipients, String upstream, long size,
                          Duration latency) {
        delivered.increment();
        endToEnd.record(latency);
    }

    @Override
    public void deferred(Envelope envelope, List<MailAddress> recipients, String detail) {
        deferred.increment();
    }

    @Override
    public void failed(Envelope envelope, List<MailAddress> recipients, String detail) {
        failed.increment();
    }

    // ---- delivery engine events (per upstream) -------------------------------------------------------------------

    @Override
    public void connectionOpened(String upstream) {
        upstreamCounter("relay.upstream.connections.opened", "Connections opened to the upstream", upstream)
                .increment();
    }

    @Override
    public void connectionReused(String upstream) {
        upstreamCounter("relay.upstream.connections.reused",
                "Messages sent over an already open connection instead of a new one", upstream).increment();
    }

    @Override
    public void rateLimited(String upstream) {
        upstreamCounter("relay.upstream.rate.limited",
                "Times messages waited for the upstream's rate limit or a back-pressure pause", upstream)
                .increment();
    }

    @Override
    public void throttled(String upstream, String reply) {
        upstreamCounter("relay.upstream.throttled",
                "Throttling replies (421, 451 4.7.x, 454 Throttling failure) that slowed the upstream down",
                upstream).increment();
    }

    /** Registered on first use; the registry returns the same counter afterwards. */
    private Counter upstreamCounter(String name, String description, String upstream) {
        return Counter.builder(name).description(description).tag("upstream", upstream).register(registry);
    }
}
