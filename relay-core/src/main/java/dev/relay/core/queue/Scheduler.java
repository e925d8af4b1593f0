package dev.relay.core.queue;

import dev.relay.core.delivery.DeliveryEngine;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.Spool;
import dev.relay.core.spool.SpoolException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Stage: schedule (Postfix's qmgr feeding its active queue). Owns the one lock of the queue and what it guards: the
 * FIFO of new mail, the heap of deferred mail by due time, the ownership map (where each message the queue owns
 * is: incoming, deferred or active) and the messages waiting for a circuit ({@link CircuitWaits}). Guarantees:
 * every owned message is in exactly one of FIFO, heap or active; the pick is fair (new mail and due deferred mail
 * take turns, either one alone takes every turn); a commit, a due time or a circuit that closes wakes the pick at
 * once; operator actions and the sweep change ownership only through {@link #locked}, so they never race a pick
 * or touch a message being delivered.
 */
final class Scheduler {
    /** Longest wait of the pick without a wake-up: bounds how late a clock change is noticed. */
    static final long MAX_IDLE_MILLIS = 1000;

    private final Object lock = new Object();
    private final ArrayDeque<QueueId> fresh = new ArrayDeque<>();
    private final PriorityQueue<Due> waiting = new PriorityQueue<>();
    private final Map<QueueId, QueueState> owned = new HashMap<>();
    /**
     * What the commit just stored, so that its first dispatch need not read the envelope back from the spool (a few
     * small reads per message); anything not here (after a restart, a bounce, a release) is loaded.
     */
    private final Map<QueueId, Spool.Stored> justCommitted = new ConcurrentHashMap<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final InstantSource clock;
    private final Spool spool;
    private final InflowGate gate;
    private final CircuitWaits circuits;
    private boolean freshTurn = true;

    /** A message due in the deferred heap. */
    record Due(QueueId id, Instant at) implements Comparable<Due> {
        @Override
        public int compareTo(Due o) {
            int c = at.compareTo(o.at);
            return c != 0 ? c : id.value().compareTo(o.id.value());
        }
    }

    /** A message the pick hands to delivery, and the state the spool has it in. */
    record Pick(QueueId id, QueueState from) {}

    /** An action under the scheduler's lock. */
    @FunctionalInterface
    interface Locked<T, E extends Exception> {
        T run() throws E, SpoolException;
    }

    Scheduler(Spool spool, DeliveryEngine engine, InstantSource clock, InflowGate gate) {
        this.spool = spool;
        this.clock = clock;
        this.gate = gate;
        this.circuits = new CircuitWaits(engine, clock, waiting, lock);
    }

    /** Runs {@code action} under the lock: the way operator actions and the sweep change what the queue owns. */
    <T, E extends Exception> T locked(Locked<T, E> action) throws E, SpoolException {
        synchronized (lock) {
            return action.run();
        }
    }

    /** The spool whose messages this schedules. */
    Spool spool() {
        return spool;
    }

    /** Messages owned: waiting or being delivered (incoming, active and deferred; not hold or failed). */
    int queued() {
        return queued.get();
    }

    /** Wakes the pick to look at the clock again. */
    void wake() {
        synchronized (lock) {
            lock.notifyAll();
        }
    }

    // --- feeding ---------------------------------------------------------------------------------------------

    /** A message just committed: new mail, whose envelope the dispatch need not read back. */
    void enqueueCommitted(Spool.Stored stored) {
        QueueId id = stored.envelope().id();
        justCommitted.put(id, stored);
        enqueueFresh(id);
    }

    /** What the commit stored for {@code id}, once; null if it must be read from the spool. */
    Spool.Stored takeCommitted(QueueId id) {
        return justCommitted.remove(id);
    }

    /** New mail, due now. */
    void enqueueFresh(QueueId id) {
        synchronized (lock) {
            own(id, QueueState.INCOMING);
            fresh.add(id);
            gate.backlog(fresh.size());
            lock.notifyAll();
        }
    }

    /** Deferred mail, due at {@code at}. */
    void enqueueDeferred(QueueId id, Instant at) {
        synchronized (lock) {
            own(id, QueueState.DEFERRED);
            waiting.add(new Due(id, at));
            lock.notifyAll();
        }
    }

    /** Deferred mail that waits for a circuit of {@code upstreams}; see {@link CircuitWaits#park}. */
    void park(QueueId id, List<String> upstreams, Instant at, boolean open) {
        synchronized (lock) {
            own(id, QueueState.DEFERRED);
            circuits.park(id, upstreams, at, open);
        }
    }

    /** No longer the queue's (delivered, failed, quarantined, or left to the next start). */
    void forget(QueueId id) {
        synchronized (lock) {
            if (owned.remove(id) != null) {
                queued.decrementAndGet();
            }
        }
    }

    /** Whether the queue owns {@code id}. Holds the lock (see {@link #locked}). */
    boolean owns(QueueId id) {
        return owned.get(id) != null;
    }

    /** Whether the queue owns {@code id} in state {@code s}. Holds the lock (see {@link #locked}). */
    boolean ownsAs(QueueId id, QueueState s) {
        return owned.get(id) == s;
    }

    private void own(QueueId id, QueueState s) { // holds lock
        if (owned.put(id, s) == null) {
            queued.incrementAndGet();
        }
    }

    /**
     * Owned as incoming but not in the FIFO: a message taken back from active, to be fed again later by
     * {@link #refeed}; operator actions apply to it meanwhile.
     */
    void ownIncoming(QueueId id) {
        synchronized (lock) {
            own(id, QueueState.INCOMING);
        }
    }

    /** Feeds a message owned by {@link #ownIncoming} to the FIFO, unless an operator took it meanwhile. */
    void refeed(QueueId id) {
        synchronized (lock) {
            if (owned.get(id) == QueueState.INCOMING && !fresh.contains(id)) {
                fresh.add(id);
                gate.backlog(fresh.size());
                lock.notifyAll();
            }
        }
    }

    // --- the pick --------------------------------------------------------------------------------------------

    /** Waits for the next message to deliver (fairly: see {@link #next}) and owns it as active. */
    Pick take() throws InterruptedException {
        synchronized (lock) {
            Pick pick;
            while ((pick = next()) == null) {
                lock.wait(idleMillis());
            }
            owned.put(pick.id(), QueueState.ACTIVE);
            return pick;
        }
    }

    /** Fair pick: new mail and due deferred mail take turns; either one alone takes every turn. */
    private Pick next() { // holds lock
        boolean deferredDue = !waiting.isEmpty() && !waiting.peek().at().isAfter(clock.instant());
        if (!fresh.isEmpty() && (freshTurn || !deferredDue)) {
            freshTurn = false;
            QueueId id = fresh.poll();
            gate.drained(fresh.size());
            return new Pick(id, QueueState.INCOMING);
        }
        if (deferredDue) {
            freshTurn = true;
            QueueId id = waiting.poll().id();
            circuits.picked(id);
            return new Pick(id, QueueState.DEFERRED);
        }
        return null;
    }

    private long idleMillis() { // holds lock
        if (waiting.isEmpty()) {
            return MAX_IDLE_MILLIS;
        }
        long ms = Duration.between(clock.instant(), waiting.peek().at()).toMillis();
        return Math.max(1, Math.min(ms, MAX_IDLE_MILLIS));
    }

    /** A delivery of {@code id} is over, whatever became of it; see {@link CircuitWaits#probed}. */
    void deliveryOver(QueueId id) {
        synchronized (lock) {
            circuits.probed(id);
        }
    }

    /** An upstream's circuit changed (the engine calls here, outside its locks); see {@link CircuitWaits}. */
    void circuitChanged(String upstream) {
        synchronized (lock) {
            circuits.changed(upstream);
        }
    }

    // --- for operator actions (QueueAdmin), under the lock -------------------------------------------------

    /**
     * Where {@code id} is, for an operator action. Holds the lock.
     *
     * @throws QueueAdmin.ActionException if it does not exist, is being delivered or is between two states
     */
    QueueState locate(QueueId id) throws QueueAdmin.ActionException {
        QueueState s = owned.get(id);
        if (s == null) {
            s = spool.stateOf(id).orElseThrow(() -> new QueueAdmin.ActionException(true,
                    "no message " + id + " in the queue"));
        }
        if (s == QueueState.ACTIVE) {
            throw new QueueAdmin.ActionException(false, id + " is being delivered right now: try again in a moment");
        }
        if (owned.get(id) == null && (s == QueueState.INCOMING || s == QueueState.DEFERRED)) {
            throw new QueueAdmin.ActionException(false, id + " is being scheduled: try again in a moment");
        }
        return s;
    }

    /** Takes {@code id} (in {@code s}) out of the FIFO or the heap, and out of the queue's ownership. Holds lock. */
    void unschedule(QueueId id, QueueState s) {
        if (s == QueueState.INCOMING) {
            fresh.remove(id);
            gate.backlog(fresh.size()); // (a submitter waiting for room wakes within its pause at most)
            justCommitted.remove(id);
        } else if (s == QueueState.DEFERRED) {
            circuits.unpark(id);
            waiting.removeIf(d -> d.id().equals(id));
        }
        forget(id);
    }

    /**
     * Takes {@code id} (in {@code s}) out of the FIFO or the heap and owns it as active, as the pick does: a hand-off
     * by hand is trying it ({@link HandoffClaims}), so no pick and no operator action touches it. Holds the lock.
     */
    void claim(QueueId id, QueueState s) {
        unschedule(id, s);
        own(id, QueueState.ACTIVE);
    }

    /**
     * Moves {@code id} out of {@code s} to {@code to} in the spool, unscheduled first ({@link #unschedule}; to
     * active: {@link #claim}), scheduled again as before if the spool cannot move it. Holds the lock.
     */
    void moveOut(QueueId id, QueueState s, QueueState to) throws SpoolException {
        if (to == QueueState.ACTIVE) {
            claim(id, s);
        } else {
            unschedule(id, s);
        }
        try {
            spool.move(id, s, to);
        } catch (SpoolException e) {
            reschedule(id, s);
            throw e;
        }
    }

    /** Undoes {@link #unschedule} after a failed move: due at the time the spool has. Holds the lock. */
    void reschedule(QueueId id, QueueState s) throws SpoolException {
        if (s == QueueState.INCOMING) {
            enqueueFresh(id);
        } else {
            enqueueDeferred(id, spool.peek(s, id).map(st -> st.envelope().nextAttempt()).orElse(clock.instant()));
        }
    }

    /** A deferred message is due now, waiting for a circuit or not. Holds the lock. */
    void dueNow(QueueId id) {
        circuits.unpark(id);
        waiting.removeIf(d -> d.id().equals(id));
        waiting.add(new Due(id, clock.instant()));
        lock.notifyAll();
    }

    /** Every deferred message is due now; returns how many. Holds the lock. */
    int allDueNow() {
        Instant now = clock.instant();
        List<Due> all = new ArrayList<>(waiting);
        waiting.clear();
        circuits.clear();
        all.forEach(d -> waiting.add(new Due(d.id(), now)));
        lock.notifyAll();
        return all.size();
    }
}
