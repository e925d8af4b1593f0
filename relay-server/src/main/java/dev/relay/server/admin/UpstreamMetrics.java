package dev.relay.server.admin;

import dev.relay.config.UpstreamConfig;
import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.routing.AttemptListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What each upstream did with the attempts made through it, so that a dashboard can tell which provider is failing:
 * outcomes ({@code relay_upstream_outcomes_total}), attempt duration ({@code relay_upstream_attempt_seconds}) and
 * replies by class and enhanced-code class ({@code relay_upstream_replies_total}). Labels stay low in cardinality:
 * the upstream's configured name, three outcomes, four reply classes, the enhanced code's first two parts.
 */
public final class UpstreamMetrics implements AttemptListener {
    /** A reply code (at the start, or after "...: " when the engine says what it was doing) and its enhanced code. */
    private static final Pattern REPLY = Pattern.compile("(?:^|: )([2-5])\\d\\d(?:[ -]([2-5]\\.\\d{1,3})\\.\\d{1,3})?");
    private static final Duration[] BUCKETS = {Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
        Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5),
        Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(60)};

    private final MeterRegistry registry;
    /** Each upstream's meters, found once: a builder and a registry look-up per message cost more than the count. */
    private final Map<String, Meters> byUpstream = new ConcurrentHashMap<>();

    public UpstreamMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Registers the upstreams' meters at zero, so that rates and ratios start at once. */
    public void register(List<UpstreamConfig> upstreams) {
        for (UpstreamConfig u : upstreams) {
            meters(u.name());
        }
    }

    @Override
    public void attempted(String upstream, DeliveryReport report, long nanos) {
        Meters m = meters(upstream);
        m.attempt.record(nanos, TimeUnit.NANOSECONDS);
        boolean delivered = false;
        boolean deferred = false;
        boolean failed = false;
        for (Outcome o : report.byRecipient().values()) {
            switch (o) {
                case Outcome.Delivered d -> delivered = true;
                case Outcome.TransientFailure t -> deferred = true;
                case Outcome.PermanentFailure p -> failed = true;
            }
            m.reply(o.detail());
        }
        if (delivered) {
            m.delivered.increment();
        }
        if (deferred) {
            m.deferred.increment();
        }
        if (failed) {
            m.failed.increment();
        }
    }

    private Meters meters(String upstream) {
        return byUpstream.computeIfAbsent(upstream, Meters::new);
    }

    /** One upstream's meters; the reply counters are made at the first reply of each class. */
    private final class Meters {
        final String upstream;
        final Timer attempt;
        final Counter delivered;
        final Counter deferred;
        final Counter failed;
        final Map<String, Counter> replies = new ConcurrentHashMap<>();

        Meters(String upstream) {
            this.upstream = upstream;
            attempt = Timer.builder("relay.upstream.attempt").tag("upstream", upstream)
                    .description("Duration of a delivery attempt through the upstream, from handing it over to the "
                            + "outcome (connection or reuse, AUTH, the transaction, the data)")
                    .serviceLevelObjectives(BUCKETS).register(registry);
            delivered = outcome("delivered");
            deferred = outcome("deferred");
            failed = outcome("failed");
        }

        private Counter outcome(String outcome) {
            return Counter.builder("relay.upstream.outcomes").tag("upstream", upstream).tag("outcome", outcome)
                    .description("Delivery attempts through the upstream in which recipients were delivered, "
                            + "deferred (4xx or no reply) or failed (5xx)")
                    .register(registry);
        }

        void reply(String detail) {
            Matcher m = REPLY.matcher(detail == null ? "" : detail);
            String kind = m.find() ? m.group(1) + "xx" : "none";
            String enhanced = kind.equals("none") || m.group(2) == null ? "none" : m.group(2);
            replies.computeIfAbsent(kind + " " + enhanced, k -> Counter.builder("relay.upstream.replies")
                    .tag("upstream", upstream).tag("class", kind).tag("enhanced", enhanced)
                    .description("Upstream replies per recipient by class (2xx, 4xx, 5xx; none: no reply, e.g. no "
                            + "connection) and enhanced-code class (e.g. 4.7; none when absent)")
                    .register(registry)).increment();
        }
    }
}
