package dev.relay.core.queue;

import dev.relay.core.delivery.DeliveryEngine;
import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.model.QueueId;
import java.time.Instant;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import org.slf4j.Logger;

/**
 * The part of the {@link Scheduler} for deferred mail that waits for a circuit, not for a clock: every upstream of
 * its route had its circuit open (the report's {@link DeliveryReport.CircuitWait}). Such a message is parked on its
 * route's upstreams and sits in the heap only at the end of its lifetime (to expire there), unless it is its
 * upstream's probe candidate: one parked message is due when a cool-down ends, to take the probe (without it, mail
 * that only waits for the circuit would never make it close). A circuit that closes makes all of them due at once,
 * through the active window like any due mail (fairly with new mail, at the upstream's rate).
 *
 * <p>A separate class only to keep the scheduler readable: it has no lock of its own, every method runs under the
 * scheduler's lock, and the heap it changes is the scheduler's.
 */
final class CircuitWaits {
    private static final Logger log = QueueManager.LOG;

    private final DeliveryEngine engine;
    private final InstantSource clock;
    private final PriorityQueue<Scheduler.Due> waiting;
    private final Object lock;
    /** The parked messages, each with its route's upstreams. */
    private final Map<QueueId, List<String>> parked = new HashMap<>();
    /** The parked messages of each upstream, in the order they were parked. */
    private final Map<String, LinkedHashSet<QueueId>> parkedOn = new HashMap<>();
    /** Per upstream, the parked message due at the end of its circuit's cool-down, to take the probe. */
    private final Map<String, QueueId> probeCandidate = new HashMap<>();
    /** Probe candidates being delivered, with their upstreams: when they are done, another one is chosen if needed. */
    private final Map<QueueId, List<String>> probing = new HashMap<>();

    CircuitWaits(DeliveryEngine engine, InstantSource clock, PriorityQueue<Scheduler.Due> waiting, Object lock) {
        this.engine = engine;
        this.clock = clock;
        this.waiting = waiting;
        this.lock = lock;
    }

    /** Whether mail may go through {@code upstream} now (closed, or open past its cool-down: the probe). */
    private boolean availableNow(String upstream, Instant now) {
        Instant at = engine.availableAt(upstream);
        return !at.equals(Instant.MAX) && !at.isAfter(now);
    }

    /**
     * A deferred message waits for a circuit of {@code upstreams} (its route's): in the heap at {@code at} (the end
     * of its lifetime when {@code open}; its backoff otherwise) unless it becomes an upstream's probe candidate, and
     * released at once when one of these circuits closes. When {@code open} and a circuit closed (or can take its
     * probe) since the report, it is due now instead: the change's wake-up may have come and gone.
     */
    void park(QueueId id, List<String> upstreams, Instant at, boolean open) {
        Instant now = clock.instant();
        if (open && upstreams.stream().anyMatch(u -> availableNow(u, now))) {
            waiting.add(new Scheduler.Due(id, now));
            lock.notifyAll();
            return;
        }
        parked.put(id, upstreams);
        for (String u : upstreams) {
            parkedOn.computeIfAbsent(u, k -> new LinkedHashSet<>()).add(id);
        }
        waiting.add(new Scheduler.Due(id, at));
        for (String u : upstreams) {
            ensureProbe(u);
        }
        lock.notifyAll();
    }

    /**
     * Makes one message parked on {@code upstream} due at the end of its circuit's cool-down, so that someone takes
     * the probe. Nothing while the probe is in flight: its outcome changes the circuit, and the change calls here
     * again.
     */
    private void ensureProbe(String upstream) {
        Instant at = engine.availableAt(upstream);
        if (at.equals(Instant.MAX) || at.equals(Instant.MIN) || probeCandidate.containsKey(upstream)) {
            return;
        }
        LinkedHashSet<QueueId> ids = parkedOn.get(upstream);
        if (ids == null || ids.isEmpty()) {
            return;
        }
        QueueId id = ids.iterator().next(); // the longest waiting
        probeCandidate.put(upstream, id);
        Instant now = clock.instant();
        Instant due = at.isBefore(now) ? now : at;
        Scheduler.Due current = null;
        for (Scheduler.Due d : waiting) {
            if (d.id().equals(id)) {
                current = d;
                break;
            }
        }
        if (current == null || current.at().isAfter(due)) {
            if (current != null) {
                waiting.remove(current);
            }
            waiting.add(new Scheduler.Due(id, due));
            lock.notifyAll();
        }
    }

    /**
     * The pick took {@code id} from the heap: a probe candidate goes to take the probe (no other candidate until it
     * is done, see {@link #probed}); any other parked message goes at the end of its lifetime like any due message.
     */
    void picked(QueueId id) {
        if (probeCandidate.containsValue(id)) {
            probing.put(id, parked.get(id));
            unpark(id, false);
        } else {
            unpark(id, true);
        }
    }

    /** The message no longer waits for a circuit (its entry in the heap is the caller's business). */
    void unpark(QueueId id) {
        unpark(id, true);
    }

    /** As {@link #unpark(QueueId)}; {@code replace}: if it was a probe candidate, another parked message is. */
    private void unpark(QueueId id, boolean replace) {
        List<String> upstreams = parked.remove(id);
        if (upstreams == null) {
            return;
        }
        for (String u : upstreams) {
            LinkedHashSet<QueueId> ids = parkedOn.get(u);
            if (ids != null) {
                ids.remove(id);
                if (ids.isEmpty()) {
                    parkedOn.remove(u);
                }
            }
            if (id.equals(probeCandidate.get(u))) {
                probeCandidate.remove(u);
                if (replace) {
                    ensureProbe(u); // another one takes its place
                }
            }
        }
    }

    /**
     * A delivery is over, whatever became of it: if it was a probe candidate's and it did not change the circuit
     * (another delivery had taken the probe, the route changed, the message was quarantined), no change will call
     * {@link #changed}, so the upstreams get a candidate again here.
     */
    void probed(QueueId id) {
        List<String> upstreams = probing.remove(id);
        if (upstreams != null) {
            upstreams.forEach(this::ensureProbe);
        }
    }

    /**
     * An upstream's circuit changed. Closed: every message parked on it is due now. Open again (a failed probe): a
     * parked message is due at the end of the new cool-down.
     */
    void changed(String upstream) {
        Instant at = engine.availableAt(upstream);
        if (!at.equals(Instant.MIN)) {
            ensureProbe(upstream);
            return;
        }
        LinkedHashSet<QueueId> ids = parkedOn.get(upstream);
        if (ids == null || ids.isEmpty()) {
            return;
        }
        Set<QueueId> released = new LinkedHashSet<>(ids);
        for (QueueId id : released) {
            unpark(id);
        }
        waiting.removeIf(d -> released.contains(d.id()));
        probeCandidate.values().removeIf(released::contains);
        Instant now = clock.instant();
        released.forEach(id -> waiting.add(new Scheduler.Due(id, now)));
        lock.notifyAll();
        log.info("upstream {}: circuit closed, {} waiting messages released", upstream, released.size());
    }

    /** Nothing waits for a circuit any more (an operator made every deferred message due). */
    void clear() {
        parked.clear();
        parkedOn.clear();
        probeCandidate.clear();
    }
}
