package dev.relay.core.queue;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.Spool;
import dev.relay.core.spool.SpoolException;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;

/**
 * The queue's side of a hand-off by hand on a running relay ({@code relay queue handoff}, {@code POST
 * /api/queue/handoff}): a message is taken from the scheduler as a delivery takes it (to active/, owned as active,
 * under the scheduler's lock), so no delivery, pick or operator action races the hand-off's try; afterwards it
 * leaves the spool (the peer took every recipient) or goes back where it was, scheduled as before (and, when
 * deferred, watched for its delay warning again: one due meanwhile was skipped as for a delivery). A crash in
 * between finds it in active/, which the next start returns to incoming/: nothing is lost.
 */
public final class HandoffClaims {
    private static final Logger log = QueueManager.LOG;

    private final Scheduler scheduler;
    private final Spool spool;
    /** Where a deferred message given back is watched for its delay warning again ({@link DelayWarning#watch}). */
    private final java.util.function.Consumer<Envelope> watch;

    HandoffClaims(Scheduler scheduler, java.util.function.Consumer<Envelope> watch) {
        this.scheduler = scheduler;
        this.spool = scheduler.spool();
        this.watch = watch;
    }

    /** A message taken for the hand-off: what the spool holds, and the state it was taken from. */
    public record Claimed(Spool.Stored stored, QueueState from) {
        public QueueId id() {
            return stored.envelope().id();
        }
    }

    /**
     * Takes an incoming or deferred message; empty when it is in neither (delivered, held, failed or deleted
     * meanwhile, or unreadable and quarantined by the spool).
     *
     * @throws QueueAdmin.ActionException when it is being delivered or scheduled right now (try again later)
     */
    public Optional<Claimed> claim(QueueId id) throws QueueAdmin.ActionException, SpoolException {
        QueueState from = scheduler.locked(() -> {
            QueueState s;
            try {
                s = scheduler.locate(id);
            } catch (QueueAdmin.ActionException e) {
                if (e.notFound()) {
                    return null;
                }
                throw e;
            }
            if (s != QueueState.INCOMING && s != QueueState.DEFERRED) {
                return null;
            }
            scheduler.moveOut(id, s, QueueState.ACTIVE);
            return s;
        });
        if (from == null) {
            return Optional.empty();
        }
        Optional<Spool.Stored> stored = spool.load(QueueState.ACTIVE, id); // owned as active: no one else reads it
        if (stored.isEmpty()) { // quarantined: logged by the spool
            scheduler.forget(id);
            return Optional.empty();
        }
        return Optional.of(new Claimed(stored.get(), from));
    }

    /** The peer took every recipient: the message leaves the spool (durably) and the queue. */
    public void handedOff(Claimed c) throws SpoolException {
        try {
            spool.remove(c.id(), QueueState.ACTIVE);
        } finally {
            scheduler.forget(c.id()); // on failure it stays in active/: the next start delivers it (again)
        }
    }

    /**
     * The message stays here for {@code left} (its recipients the peer did not take): back where it was taken from,
     * scheduled as before (incoming: now; deferred: at its due time). If the spool cannot move it, it stays in
     * active/ for the next start, which returns it to incoming/.
     */
    public void keep(Claimed c, List<MailAddress> left) {
        Envelope e = c.stored().envelope();
        Envelope kept = left.size() < e.recipients().size() ? e.notAttempted(left, e.nextAttempt(), e.lastError()) : e;
        try {
            if (kept != e) { // the peer has the others: never sent twice
                spool.update(kept, c.stored().bodySize(), QueueState.ACTIVE, c.from());
            } else {
                spool.move(c.id(), QueueState.ACTIVE, c.from());
            }
        } catch (SpoolException | RuntimeException ex) {
            scheduler.forget(c.id());
            log.error("{}: cannot give it back to {} after the hand-off's try, left in active/ for the next start: "
                    + "{}", c.id(), c.from().key(), ex.toString());
            return;
        }
        if (c.from() == QueueState.INCOMING) {
            scheduler.enqueueFresh(c.id());
        } else {
            scheduler.enqueueDeferred(c.id(), e.nextAttempt());
            watch.accept(kept); // a delay warning whose time came while it was taken is not skipped
        }
    }
}
