package dev.relay.core.handoff;

import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.queue.HandoffClaims;
import dev.relay.core.queue.QueueAdmin;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.Spool;
import dev.relay.core.spool.SpoolException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The messages of a running relay's queue: those incoming and deferred when the hand-off starts (not those being
 * delivered then, nor mail received later, which is delivered as usual), each taken through the scheduler as a
 * delivery takes it ({@link HandoffClaims}) and given back to it when kept.
 */
public final class QueuedMessages implements Handoff.Messages {
    private final Spool spool;
    private final HandoffClaims claims;

    public QueuedMessages(Spool spool, HandoffClaims claims) {
        this.spool = spool;
        this.claims = claims;
    }

    @Override
    public List<QueueId> list() throws SpoolException {
        List<QueueId> ids = new ArrayList<>(spool.list(QueueState.INCOMING));
        ids.addAll(spool.list(QueueState.DEFERRED));
        return ids;
    }

    @Override
    public Optional<Handoff.Taken> take(QueueId id) throws SpoolException, Handoff.Busy {
        try {
            return claims.claim(id).map(c -> new Handoff.Taken(c.stored(), c.from())); // (in active/ meanwhile)
        } catch (QueueAdmin.ActionException e) {
            throw new Handoff.Busy(e.getMessage());
        }
    }

    @Override
    public void handedOff(Handoff.Taken t) throws SpoolException {
        claims.handedOff(new HandoffClaims.Claimed(t.stored(), t.state()));
    }

    @Override
    public void keep(Handoff.Taken t, List<MailAddress> left) {
        claims.keep(new HandoffClaims.Claimed(t.stored(), t.state()), left);
    }
}
