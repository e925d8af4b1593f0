package dev.relay.server.admin;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.queue.QueueListener;
import dev.relay.core.queue.QueueAdmin;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.SpoolException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The relay's metrics (catalogue in docs/metrics.md). Names are under {@code relay.}; tags are low-cardinality
 * (never an address).
 */
public final class RelayMetrics implements QueueListener {
    private final Counter received;
    private final DistributionSummary receivedBytes;
    private final Counter delivered;
    private final Counter deferred;
    private final Counter failed;
    private final Timer endToEnd;
    private final Counter attempts;
    private final Counter bounced;
    private final Counter expired;
    private final MeterRegistry registry;

    public RelayMetrics(MeterRegistry registry) {
        this.registry = registry;
        attempts = Counter.builder("relay.delivery.attempts")
                .description("Delivery attempts started (first tries and retries)").register(registry);
        bounced = Counter.builder("relay.messages.bounced")
                .description("Messages whose sender was notified of permanently failed recipients (a DSN queued, "
                        + "or only logged with queue.bounces=log)").register(registry);
        expired = Counter.builder("relay.messages.expired")
                .description("Messages whose pending recipients failed at the end of queue.max-lifetime")
                .register(registry);
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

    @Override
    public void attempted(Envelope envelope, int attempt) {
        attempts.increment();
    }

    @Override
    public void bounced(Envelope envelope, List<MailAddress> recipients, boolean sent) {
        bounced.increment();
    }

    @Override
    public void expired(Envelope envelope, List<MailAddress> recipients, Duration age) {
        expired.increment();
    }

    /**
     * Gauges of the spool's contents per state ({@code relay.queue.state.messages}, {@code .bytes}) and the age of
     * the oldest message waiting for delivery. One directory scan serves every gauge for {@value #SCAN_MILLIS} ms,
     * so a scrape never lists a large spool several times.
     */
    public void bindQueue(QueueAdmin admin, InstantSource clock) {
        QueueScan scan = new QueueScan(admin);
        for (QueueState s : QueueState.values()) {
            Gauge.builder("relay.queue.state.messages", scan, q -> q.get().messages().getOrDefault(s, 0L))
                    .tag("state", s.key()).description("Messages in each queue state").strongReference(true)
                    .register(registry);
            Gauge.builder("relay.queue.state.bytes", scan, q -> q.get().bytes().getOrDefault(s, 0L))
                    .tag("state", s.key()).baseUnit("bytes").description("Message bytes in each queue state")
                    .strongReference(true).register(registry);
        }
        Gauge.builder("relay.queue.oldest.age", scan, q -> q.get().oldest()
                        .map(t -> Math.max(0, Duration.between(t, clock.instant()).toMillis() / 1000.0)).orElse(0.0))
                .baseUnit("seconds")
                .description("Age of the oldest message waiting for delivery (incoming, active, deferred, hold)")
                .strongReference(true).register(registry);
    }

    static final long SCAN_MILLIS = 5000;

    private static final class QueueScan {
        private final QueueAdmin admin;
        private QueueAdmin.Stats last = new QueueAdmin.Stats(Map.of(), Map.of(), Optional.empty());
        private long at = Long.MIN_VALUE;

        QueueScan(QueueAdmin admin) {
            this.admin = admin;
        }

        synchronized QueueAdmin.Stats get() {
            long now = System.nanoTime();
            if (at == Long.MIN_VALUE || now - at > SCAN_MILLIS * 1_000_000) {
                try {
                    last = admin.stats();
                } catch (SpoolException e) {
                    // keep the last figures; readiness reports an unusable spool
                }
                at = now;
            }
            return last;
        }
    }
}
