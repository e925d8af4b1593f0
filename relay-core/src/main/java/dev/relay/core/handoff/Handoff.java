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
 * Relays every message the spool still holds (incoming, deferred, and active/ left by a stop, which goes back to
 * incoming first, as at start) to a peer relay through {@code peer}, a delivery engine whose upstream is the peer.
 * Each copy carries a new {@link HandoffHeader} first; the spooled original is never changed. A message is removed
 * here only after the peer's {@code 250} for every recipient, through the spool's removal path (so a crash in
 * between sends it again at worst, never loses it); recipients the peer took are dropped from the envelope when
 * others were refused. A message the peer refuses (4xx or 5xx), one not confirmed before the time is up and one
 * that has been handed off {@code maxHops} times already stays here as it was: nothing is dropped or bounced. Not
 * thread-safe: one run at a time, with nothing else delivering from the spool.
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
    private final DeliveryEngine peer;
    private final String peerName;
    private final String replica;
    private final int maxHops;
    private final Listener listener;
    private QueueListener history = new QueueListener() { };
    private final Map<QueueId, Result> results = new LinkedHashMap<>();
    private final Set<QueueId> retryable = new HashSet<>(); // refused with a 4xx in the last pass

    /**
     * @param peerName how the peer is named in the log lines (its URL)
     * @param replica  this relay's host name, in the header's {@code from}
     * @param maxHops  a message already handed off this many times is kept
     */
    public Handoff(Spool spool, DeliveryEngine peer, String peerName, String replica, int maxHops,
                   Listener listener) {
        this.spool = spool;
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
     * Hands off what the spool holds, within {@code timeout}; what is not confirmed then stays. A message the peer
     * refused with a 4xx (a peer that is stopping itself answers {@code 451 4.3.2}) is tried again, up to
     * {@link #ROUNDS} times in all, each time on a new connection, which a load balancer may send to another peer.
     */
    public Summary run(Duration timeout) throws SpoolException {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (QueueId id : spool.list(QueueState.ACTIVE)) {
            spool.releaseActive(id);
        }
        for (int round = 1; round <= ROUNDS && System.nanoTime() - deadline < 0; round++) {
            if (round > 1) {
                if (!results.containsValue(Result.UNFINISHED) && !transientlyRefused()) {
                    break;
                }
                pause(deadline);
            }
            pass(deadline);
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

    private boolean transientlyRefused() {
        return !retryable.isEmpty();
    }

    private void pass(long deadline) throws SpoolException {
        Set<QueueId> again = new HashSet<>(retryable);
        retryable.clear();
        List<Pending> inFlight = new ArrayList<>();
        for (QueueState state : List.of(QueueState.INCOMING, QueueState.DEFERRED)) {
            for (QueueId id : spool.list(state)) {
                Result before = results.get(id);
                if (before == Result.HOP_LIMIT || before == Result.REFUSED && !again.contains(id)) {
                    continue; // refused for good (5xx) or looping: not sent again
                }
                if (inFlight.size() >= WINDOW) {
                    settle(inFlight.remove(0), deadline);
                }
                Pending p = start(state, id, deadline);
                if (p != null) {
                    inFlight.add(p);
                }
            }
        }
        for (Pending p : inFlight) {
            settle(p, deadline);
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

    private record Pending(QueueState state, Spool.Stored stored, Path copy, CompletableFuture<DeliveryReport> report) {
    }

    private Pending start(QueueState state, QueueId id, long deadline) throws SpoolException {
        Optional<Spool.Stored> loaded = spool.load(state, id);
        if (loaded.isEmpty()) {
            return null; // gone meanwhile, or quarantined by the spool
        }
        Spool.Stored s = loaded.get();
        Envelope e = s.envelope();
        if (System.nanoTime() - deadline >= 0) {
            done(e, Result.UNFINISHED, "not sent: the hand-off's time is up");
            return null;
        }
        Body body = spool.body(id, s.bodySize());
        Path copy = spool.root().resolve("tmp").resolve("handoff-" + id.value());
        try {
            int hops;
            try (InputStream in = body.open()) {
                hops = HandoffHeader.hops(in);
            }
            if (hops >= maxHops) {
                done(e, Result.HOP_LIMIT, "handed off " + hops + " times already (handoff.max-hops " + maxHops + ")");
                return null;
            }
            HandoffHeader header = new HandoffHeader(id.value(), e.receivedAt(), replica, hops + 1);
            try (InputStream in = body.open(); OutputStream out = Files.newOutputStream(copy)) {
                out.write(header.line().getBytes(StandardCharsets.US_ASCII));
                in.transferTo(out);
            }
        } catch (IOException ex) {
            deleteQuietly(copy);
            done(e, Result.UNFINISHED, "cannot read the message: " + ex);
            return null;
        }
        history.attempted(e, e.attempts() + 1);
        return new Pending(state, s, copy, peer.deliver(e, Body.wholeFile(copy)));
    }

    private void settle(Pending p, long deadline) throws SpoolException {
        Envelope e = p.stored().envelope();
        DeliveryReport report;
        try {
            report = p.report().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException | ExecutionException ex) {
            done(e, Result.UNFINISHED, "no answer from the peer in time");
            return;
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            done(e, Result.UNFINISHED, "interrupted");
            return;
        } finally {
            deleteQuietly(p.copy());
        }
        List<MailAddress> taken = report.recipientsWith(Outcome.Delivered.class);
        history.reported(e, report);
        if (!taken.isEmpty()) {
            history.delivered(e, taken, UPSTREAM, p.stored().bodySize(),
                    Duration.between(e.receivedAt(), java.time.Instant.now()));
        }
        List<MailAddress> left = new ArrayList<>(e.recipients());
        left.removeAll(taken);
        if (left.isEmpty()) {
            spool.remove(e.id(), p.state()); // durable: only now is the message gone from here
            done(e, Result.HANDED_OFF, reply(report, taken.get(0)));
            return;
        }
        if (!taken.isEmpty()) { // the peer has those: never send them twice
            spool.update(new Envelope(e.id(), e.sender(), left, e.receivedAt(), e.submitter(), e.attempts(),
                    e.nextAttempt(), e.lastError(), e.smtputf8()), p.stored().bodySize(), p.state(), p.state());
        }
        if (!report.recipientsWith(Outcome.TransientFailure.class).isEmpty()) {
            retryable.add(e.id());
        }
        done(e, report.notAttempted() != null ? Result.UNFINISHED : Result.REFUSED, left.size() + " of " + e.recipients().size() + " recipients kept: "
                + reply(report, left.get(0)));
    }

    private static String reply(DeliveryReport report, MailAddress recipient) {
        Outcome o = report.byRecipient().get(recipient);
        return o == null ? "no reply" : o.detail();
    }

    private void done(Envelope e, Result result, String detail) {
        results.put(e.id(), result);
        if (result == Result.HANDED_OFF) {
            log.info("handoff: {} handed off to {} ({} recipients): {}", e.id(), peerName, e.recipients().size(),
                    detail);
        } else {
            log.warn("handoff: {} kept here ({}): {}", e.id(), result.key(), detail);
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // tmp/ is emptied at the next start
        }
    }
}
