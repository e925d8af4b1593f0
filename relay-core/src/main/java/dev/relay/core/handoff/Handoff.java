package dev.relay.core.handoff;

import dev.relay.core.delivery.DeliveryEngine;
import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.queue.QueueListener;
import dev.relay.core.spool.Body;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.Spool;
import dev.relay.core.spool.SpoolException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relays the messages queued (incoming and deferred) to a peer relay through {@code peer}, a delivery engine whose
 * upstream is the peer; which messages, and how each is taken and given back, is {@link Messages}': a stopped
 * relay's spool ({@link SpoolMessages}; active/ left by a stop goes back to incoming first, as at start) or a
 * running relay's queue ({@link QueuedMessages}: each taken through the scheduler as a delivery takes it). The
 * messages are those queued when the run starts; mail received meanwhile is not handed off. Each copy carries a new
 * {@link HandoffHeader} first; the spooled original is never changed. A message is removed here only after the
 * peer's {@code 250} for every recipient, through the spool's removal path (so a crash in between sends it again at
 * worst, never loses it); recipients the peer took are dropped from the envelope when others were refused. A
 * message the peer refuses (4xx or 5xx), one not confirmed before the time is up and one that has been handed off
 * {@code maxHops} times already stays here as it was: nothing is dropped or bounced. Not thread-safe: one run at a
 * time.
 */
public final class Handoff {
    private static final Logger log = LoggerFactory.getLogger(Handoff.class);
    /** Copies sent at once: bounds the temporary copies; the peer's engine limits its own connections. */
    static final int WINDOW = 32;
    /** The peer's name as an upstream, in the history. */
    public static final String UPSTREAM = "handoff";
    /** Passes over the spool at most: a message refused with a 4xx is tried again in the next one. */
    static final int ROUNDS = 4;
    /** The pause before another pass, so that a peer that is stopping can leave the load balancer. */
    static final Duration RETRY_PAUSE = Duration.ofMillis(500);

    /** What became of one message: the counts' labels ({@code relay_handoff_messages_total{result}}). */
    public enum Result {
        HANDED_OFF, REFUSED, HOP_LIMIT, UNFINISHED;

        public String key() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Told of each message's result, for metrics; must be fast and must not throw. */
    public interface Listener {
        Listener NONE = (id, result) -> { };

        void handled(QueueId id, Result result);
    }

    /** Where the messages come from and go back to: a stopped relay's spool, or a running relay's queue. */
    public interface Messages {
        /** The messages to hand off, in order: listed once, when the run starts. */
        List<QueueId> list() throws SpoolException;

        /**
         * Takes one for a try; empty when it is no longer queued (delivered, held, deleted meanwhile).
         *
         * @throws Busy when it cannot be taken right now (being delivered here): a later pass asks again
         */
        Optional<Taken> take(QueueId id) throws SpoolException, Busy;

        /** The peer took every recipient: the message leaves this relay, durably. */
        void handedOff(Taken t) throws SpoolException;

        /** The message stays here for the recipients {@code left} (fewer than before when the peer took some). */
        void keep(Taken t, List<MailAddress> left) throws SpoolException;
    }

    /** A message taken for a try: what the spool holds, and the state it was taken from. */
    public record Taken(Spool.Stored stored, QueueState state) {
        Envelope envelope() {
            return stored.envelope();
        }
    }

    /** A message that cannot be taken right now. */
    public static final class Busy extends Exception {
        public Busy(String message) {
            super(message);
        }
    }

    /** The counts of one run. */
    public record Summary(int handedOff, int refused, int hopLimit, int unfinished) {
        public int kept() {
            return refused + hopLimit + unfinished;
        }

        @Override
        public String toString() {
            return handedOff + " handed off, " + refused + " refused by the peer, " + hopLimit
                    + " at the hop limit, " + unfinished + " unfinished (kept: " + kept() + ")";
        }
    }

    private final Spool spool;
    private final Messages messages;
    private final DeliveryEngine peer;
    private final String peerName;
    private final String replica;
    private final int maxHops;
    private final Listener listener;
    private QueueListener history = new QueueListener() { };
    private final Map<QueueId, Result> results = java.util.Collections.synchronizedMap(new LinkedHashMap<>());
    /** The removals of a pass, each on a thread of its own so that removals from active/ share the spool's rounds. */
    private final List<CompletableFuture<Void>> removals = new ArrayList<>();
    private final Set<QueueId> retryable = new HashSet<>(); // refused with a 4xx, or busy, in the last pass

    /**
     * The hand-off of a stopped relay's spool, which nothing else uses meanwhile.
     *
     * @param peerName how the peer is named in the log lines (its URL)
     * @param replica  this relay's host name, in the header's {@code from}
     * @param maxHops  a message already handed off this many times is kept
     */
    public Handoff(Spool spool, DeliveryEngine peer, String peerName, String replica, int maxHops,
                   Listener listener) {
        this(spool, new SpoolMessages(spool), peer, peerName, replica, maxHops, listener);
    }

    /** The hand-off of the {@code messages} of {@code spool} (see {@link Messages}). */
    public Handoff(Spool spool, Messages messages, DeliveryEngine peer, String peerName, String replica, int maxHops,
                   Listener listener) {
        this.spool = spool;
        this.messages = messages;
        this.peer = peer;
        this.peerName = peerName;
        this.replica = replica;
        this.maxHops = maxHops;
        this.listener = listener;
    }

    /**
     * Records each try in {@code history} as a delivery attempt through the upstream {@code handoff} (the peer's
     * reply, with its queue id there) and the recipients the peer took as delivered; returns this.
     */
    public Handoff recording(QueueListener history) {
        this.history = history;
        return this;
    }

    /**
     * Hands off the messages queued now, within {@code timeout}; what is not confirmed then stays. A message the
     * peer refused with a 4xx (a peer that is stopping itself answers {@code 451 4.3.2}), and one that was busy here,
     * is tried again, up to {@link #ROUNDS} times in all, each time on a new connection, which a load balancer may
     * send to another peer.
     */
    public Summary run(Duration timeout) throws SpoolException {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<QueueId> queued = messages.list();
        for (int round = 1; round <= ROUNDS && System.nanoTime() - deadline < 0; round++) {
            if (round > 1) {
                if (!results.containsValue(Result.UNFINISHED) && retryable.isEmpty()) {
                    break;
                }
                pause(deadline);
            }
            pass(queued, deadline);
        }
        int[] counts = new int[Result.values().length];
        results.forEach((id, result) -> {
            counts[result.ordinal()]++;
            listener.handled(id, result);
        });
        Summary s = new Summary(counts[0], counts[1], counts[2], counts[3]);
        log.info("handoff to {}: {}", peerName, s);
        return s;
    }

    private void pass(List<QueueId> queued, long deadline) {
        Set<QueueId> again = new HashSet<>(retryable);
        retryable.clear();
        List<Pending> inFlight = new ArrayList<>();
        try {
            for (QueueId id : queued) {
                Result before = results.get(id);
                if (before == Result.HANDED_OFF || before == Result.HOP_LIMIT
                        || before == Result.REFUSED && !again.contains(id)) {
                    continue; // gone, refused for good (5xx) or looping: not sent again
                }
                if (inFlight.size() >= WINDOW) {
                    settle(inFlight.remove(0), deadline);
                }
                Pending p = start(id, deadline);
                if (p != null) {
                    inFlight.add(p);
                }
            }
        } finally { // whatever happens, every message taken is settled: handed off or given back
            for (Pending p : inFlight) {
                settle(p, deadline);
            }
            removals.forEach(CompletableFuture::join); // (each catches its own failure)
            removals.clear();
        }
    }

    private static void pause(long deadline) {
        long nanos = Math.min(RETRY_PAUSE.toNanos(), Math.max(0, deadline - System.nanoTime()));
        try {
            TimeUnit.NANOSECONDS.sleep(nanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private record Pending(Taken taken, Path copy, CompletableFuture<DeliveryReport> report) {
    }

    private Pending start(QueueId id, long deadline) {
        if (System.nanoTime() - deadline >= 0) {
            done(id, Result.UNFINISHED, "not sent: the hand-off's time is up");
            return null;
        }
        Optional<Taken> taken;
        try {
            taken = messages.take(id);
        } catch (Busy e) {
            retryable.add(id);
            done(id, Result.UNFINISHED, e.getMessage());
            return null;
        } catch (SpoolException | RuntimeException e) {
            done(id, Result.UNFINISHED, "cannot take it: " + e);
            return null;
        }
        if (taken.isEmpty()) {
            results.remove(id); // no longer queued here (delivered, held, deleted, quarantined): not counted
            return null;
        }
        Taken t = taken.get();
        Envelope e = t.envelope();
        Body body = spool.body(id, t.stored().bodySize());
        Path copy = spool.root().resolve("tmp").resolve("handoff-" + id.value());
        try {
            int hops;
            try (InputStream in = body.open()) {
                hops = HandoffHeader.hops(in);
            }
            if (hops >= maxHops) {
                keep(t, e.recipients(), Result.HOP_LIMIT, "handed off " + hops + " times already (handoff.max-hops "
                        + maxHops + ")");
                return null;
            }
            HandoffHeader header = new HandoffHeader(id.value(), e.receivedAt(), replica, hops + 1);
            try (InputStream in = body.open(); OutputStream out = Files.newOutputStream(copy)) {
                out.write(header.line().getBytes(StandardCharsets.US_ASCII));
                in.transferTo(out);
            }
        } catch (IOException ex) {
            deleteQuietly(copy);
            keep(t, e.recipients(), Result.UNFINISHED, "cannot read the message: " + ex);
            return null;
        }
        history.attempted(e, e.attempts() + 1);
        return new Pending(t, copy, peer.deliver(e, Body.wholeFile(copy)));
    }

    private void settle(Pending p, long deadline) {
        Envelope e = p.taken().envelope();
        DeliveryReport report;
        try {
            report = p.report().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException | ExecutionException ex) {
            keep(p.taken(), e.recipients(), Result.UNFINISHED, "no answer from the peer in time");
            return;
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            keep(p.taken(), e.recipients(), Result.UNFINISHED, "interrupted");
            return;
        } finally {
            deleteQuietly(p.copy());
        }
        List<MailAddress> taken = report.recipientsWith(Outcome.Delivered.class);
        history.reported(e, report);
        if (!taken.isEmpty()) {
            history.delivered(e, taken, UPSTREAM, p.taken().stored().bodySize(),
                    Duration.between(e.receivedAt(), java.time.Instant.now()));
        }
        List<MailAddress> left = new ArrayList<>(e.recipients());
        left.removeAll(taken);
        if (left.isEmpty()) {
            String reply = reply(report, taken.get(0));
            removals.add(CompletableFuture.runAsync(() -> handedOff(p.taken(), reply), Thread::startVirtualThread));
            return;
        }
        if (!report.recipientsWith(Outcome.TransientFailure.class).isEmpty()) {
            retryable.add(e.id());
        }
        keep(p.taken(), left, report.notAttempted() != null ? Result.UNFINISHED : Result.REFUSED,
                left.size() + " of " + e.recipients().size() + " recipients kept: " + reply(report, left.get(0)));
    }

    /** The peer took every recipient: the message leaves this relay, and only then counts as handed off. */
    private void handedOff(Taken t, String reply) {
        Envelope e = t.envelope();
        try {
            messages.handedOff(t); // durable: only now is the message gone from here
            results.put(e.id(), Result.HANDED_OFF);
            log.info("handoff: {} handed off to {} ({} recipients): {}", e.id(), peerName, e.recipients().size(), reply);
        } catch (SpoolException | RuntimeException ex) {
            done(e.id(), Result.UNFINISHED, "the peer took it, but its removal here failed, so it may be delivered "
                    + "twice: " + ex);
        }
    }

    /** The message stays here for {@code left}, with {@code result}. */
    private void keep(Taken t, List<MailAddress> left, Result result, String detail) {
        try {
            messages.keep(t, left);
        } catch (SpoolException | RuntimeException ex) {
            detail += "; and it could not be put back: " + ex;
        }
        done(t.envelope().id(), result, detail);
    }

    private static String reply(DeliveryReport report, MailAddress recipient) {
        Outcome o = report.byRecipient().get(recipient);
        return o == null ? "no reply" : o.detail();
    }

    private void done(QueueId id, Result result, String detail) {
        results.put(id, result);
        log.warn("handoff: {} kept here ({}): {}", id, result.key(), detail);
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // tmp/ is emptied at the next start
        }
    }
}
