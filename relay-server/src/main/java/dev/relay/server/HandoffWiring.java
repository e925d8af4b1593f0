package dev.relay.server;

import dev.relay.config.HandoffConfig;
import dev.relay.config.UpstreamAuth;
import dev.relay.core.delivery.NettyDeliveryEngine;
import dev.relay.core.delivery.UpstreamTarget;
import dev.relay.core.handoff.Handoff;
import dev.relay.core.handoff.QueuedMessages;
import dev.relay.core.queue.QueueListener;
import dev.relay.core.queue.QueueManager;
import dev.relay.core.spool.Spool;
import dev.relay.core.spool.SpoolException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hand-off of the queue to a peer relay ({@code handoff.*}, docs/scale-out.md): the peer as an upstream target
 * of the delivery engine, the metric {@code relay.handoff.messages{result}}, and the run at the end of a stop
 * ({@link RelayServer#stop}) or by hand ({@code relay queue handoff}).
 */
final class HandoffWiring {
    private static final Logger log = LoggerFactory.getLogger(HandoffWiring.class);
    /** Connections to the peer at once: enough to move a spool in seconds without flooding one peer. */
    static final int CONNECTIONS = 4;

    private HandoffWiring() {
    }

    /** The peer as the delivery engine takes it: short timeouts, for the hand-off runs within a grace period. */
    static UpstreamTarget target(HandoffConfig h) {
        return new UpstreamTarget("handoff", h.to().host(), h.to().port(), h.tls(), h.user(), h.password(), h.trust(),
                new UpstreamTarget.Timeouts(Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(30),
                        Duration.ofSeconds(60), Duration.ofSeconds(60)),
                new UpstreamTarget.Pool(CONNECTIONS, 1000, Duration.ofSeconds(30)), UpstreamTarget.Rate.UNLIMITED,
                UpstreamAuth.AUTO, null);
    }

    /** Counters of {@code relay.handoff.messages}, one per result, registered at zero. */
    static Handoff.Listener metrics(MeterRegistry registry) {
        Map<Handoff.Result, Counter> counters = new EnumMap<>(Handoff.Result.class);
        for (Handoff.Result r : Handoff.Result.values()) {
            counters.put(r, Counter.builder("relay.handoff.messages").tag("result", r.key())
                    .description("Messages of a hand-off to a peer relay (handoff.to), by result: handed_off, "
                            + "refused (kept here), hop_limit (kept here), unfinished (kept here)")
                    .register(registry));
        }
        return (id, result) -> counters.get(result).increment();
    }

    /** Hands off what {@code spool} holds (a stopped relay's) to {@code h.to()} within its timeout. */
    static Handoff.Summary run(Spool spool, HandoffConfig h, String replica, Handoff.Listener listener,
                               QueueListener history) throws SpoolException {
        return run(spool, null, h, replica, listener, history);
    }

    /**
     * Hands off {@code messages} of {@code spool} (null: everything the spool holds, nothing else using it) to
     * {@code h.to()} within its timeout.
     */
    static Handoff.Summary run(Spool spool, Handoff.Messages messages, HandoffConfig h, String replica,
                               Handoff.Listener listener, QueueListener history) throws SpoolException {
        log.info("handoff: handing off the queue to {} as user {} (at most {})", h.to(), h.user(),
                dev.relay.config.Durations.format(h.timeout()));
        try (NettyDeliveryEngine peer = new NettyDeliveryEngine(target(h), null, replica)) {
            Handoff handoff = messages == null ? new Handoff(spool, peer, h.to().toString(), replica, h.maxHops(),
                    listener) : new Handoff(spool, messages, peer, h.to().toString(), replica, h.maxHops(), listener);
            return handoff.recording(history == null ? new QueueListener() { } : history).run(h.timeout());
        }
    }

    /**
     * The hand-off by hand on the running relay ({@link LiveHandoff}): the messages {@code queue} holds now, each
     * taken through its scheduler, and given back when kept.
     */
    static Handoff.Summary runLive(Spool spool, QueueManager queue, HandoffConfig h, String replica,
                                   Handoff.Listener listener, QueueListener history) throws SpoolException {
        return run(spool, new QueuedMessages(spool, queue.handoffClaims()), h, replica, listener, history);
    }

    /**
     * The run at the end of a stop, recorded in {@code history} (null: none): a failure is logged, and whatever was
     * not handed off stays in the spool.
     */
    static void onStop(Spool spool, HandoffConfig h, String replica, Handoff.Listener listener,
                       QueueListener history) {
        try {
            run(spool, h, replica, listener, history);
        } catch (SpoolException | RuntimeException e) {
            log.error("handoff to {} failed: {}; the messages not handed off stay in the spool", h.to(), e.toString());
        }
    }
}
