package dev.relay.core.handoff;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.Spool;
import dev.relay.core.spool.SpoolException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The messages of a stopped relay's spool, which nothing else uses meanwhile: active/ left by a stop goes back to
 * incoming/ first (as at start), then incoming and deferred messages are taken where they are.
 */
final class SpoolMessages implements Handoff.Messages {
    private final Spool spool;

    SpoolMessages(Spool spool) {
        this.spool = spool;
    }

    @Override
    public List<QueueId> list() throws SpoolException {
        for (QueueId id : spool.list(QueueState.ACTIVE)) {
            spool.releaseActive(id);
        }
        List<QueueId> ids = new ArrayList<>(spool.list(QueueState.INCOMING));
        ids.addAll(spool.list(QueueState.DEFERRED));
        return ids;
    }

    @Override
    public Optional<Handoff.Taken> take(QueueId id) throws SpoolException {
        Optional<QueueState> state = spool.stateOf(id);
        if (state.isEmpty() || state.get() != QueueState.INCOMING && state.get() != QueueState.DEFERRED) {
            return Optional.empty();
        }
        return spool.load(state.get(), id).map(s -> new Handoff.Taken(s, state.get())); // empty: quarantined
    }

    @Override
    public void handedOff(Handoff.Taken t) throws SpoolException {
        spool.remove(t.envelope().id(), t.state());
    }

    @Override
    public void keep(Handoff.Taken t, List<MailAddress> left) throws SpoolException {
        Envelope e = t.envelope();
        if (left.size() < e.recipients().size()) { // the peer has the others: never send them twice
            spool.update(e.notAttempted(left, e.nextAttempt(), e.lastError()), t.stored().bodySize(), t.state(),
                    t.state());
        }
    }
}
