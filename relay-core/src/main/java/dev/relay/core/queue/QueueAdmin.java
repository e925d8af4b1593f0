package dev.relay.core.queue;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.Spool;
import dev.relay.core.spool.SpoolException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;

/**
 * Stage: operate (Postfix's {@code postqueue} and {@code postsuper}). The operator's view and controls of the
 * queue (the {@code relay queue} commands and {@code /api/queue}): list, show, retry now, hold, release, delete and
 * requeue. Reads go to the spool; every change runs under the {@link Scheduler}'s lock and through its methods,
 * never around it, so an operator never races a pick or an outcome (a message being delivered right now is
 * refused, not torn).
 */
public final class QueueAdmin {
    private static final Logger log = QueueManager.LOG;

    private final QueueParts parts;

    QueueAdmin(QueueParts parts) {
        this.parts = parts;
    }

    /** Why an action was refused: the message does not exist, or it is not in a state the action applies to. */
    public static final class ActionException extends Exception {
        private final boolean notFound;

        ActionException(boolean notFound, String message) {
            super(message);
            this.notFound = notFound;
        }

        public boolean notFound() {
            return notFound;
        }
    }

    /**
     * One message as an operator sees it. For a corrupt message only id, state and size are known (the other
     * fields are null, 0 or "").
     */
    public record Message(QueueId id, QueueState state, MailAddress sender, List<MailAddress> recipients,
                          Instant receivedAt, String submitter, int attempts, Instant nextAttempt, String lastError,
                          long size) {
        public Duration age(Instant now) {
            return Duration.between(receivedAt == null ? id.time() : receivedAt, now);
        }
    }

    /**
     * Which messages to list; null or empty parts match everything.
     *
     * @param states             the states (all when empty)
     * @param senderContains     a case-insensitive part of the sender
     * @param recipientContains  a case-insensitive part of any recipient
     * @param minAge             only messages at least this old
     */
    public record Filter(Set<QueueState> states, String senderContains, String recipientContains, Duration minAge) {
        public static final Filter ALL = new Filter(Set.of(), null, null, null);

        public Filter {
            states = states == null ? Set.of() : Set.copyOf(states);
        }

        boolean matches(Message m, Instant now) {
            if (!states.isEmpty() && !states.contains(m.state())) {
                return false;
            }
            if (minAge != null && m.age(now).compareTo(minAge) < 0) {
                return false;
            }
            if (senderContains != null && !senderContains.isEmpty() && (m.sender() == null
                    || !lower(m.sender().value()).contains(lower(senderContains)))) {
                return false;
            }
            return recipientContains == null || recipientContains.isEmpty() || m.recipients().stream()
                    .anyMatch(r -> lower(r.value()).contains(lower(recipientContains)));
        }

        private static String lower(String s) {
            return s.toLowerCase(Locale.ROOT);
        }
    }

    /** The messages matching {@code filter}, by state then oldest first. */
    public List<Message> list(Filter filter) throws SpoolException {
        Instant now = parts.clock().instant();
        List<Message> out = new ArrayList<>();
        for (QueueState s : QueueState.values()) {
            if (!filter.states().isEmpty() && !filter.states().contains(s)) {
                continue;
            }
            for (QueueId id : parts.spool().list(s)) {
                read(s, id).filter(m -> filter.matches(m, now)).ifPresent(out::add);
            }
        }
        return out;
    }

    /**
     * One page of a listing: the messages, and the cursor to pass as {@code after} for the next page (null when
     * this is the last).
     */
    public record Page(List<Message> messages, String next) {
    }

    /**
     * Up to {@code limit} messages matching {@code filter} after the cursor {@code after} (null: from the
     * start), in the order of {@link #list(Filter)}; only the page is held, never the whole backlog (ids aside).
     * A cursor is {@code state:id} of the last message of the page before; a message that changes state between
     * two pages may be listed twice or not at all.
     *
     * @throws IllegalArgumentException if {@code after} is not a cursor
     */
    public Page list(Filter filter, String after, int limit) throws SpoolException {
        QueueState afterState = null;
        String afterId = null;
        if (after != null && !after.isEmpty()) {
            int colon = after.indexOf(':');
            String state = colon < 0 ? "" : after.substring(0, colon);
            afterId = colon < 0 ? "" : after.substring(colon + 1);
            for (QueueState s : QueueState.values()) {
                if (s.key().equals(state)) {
                    afterState = s;
                }
            }
            if (afterState == null || !QueueId.isValid(afterId)) {
                throw new IllegalArgumentException("'" + after + "' is not a cursor: pass the 'next' of the page "
                        + "before as after");
            }
        }
        Instant now = parts.clock().instant();
        List<Message> out = new ArrayList<>();
        for (QueueState s : QueueState.values()) {
            if (!filter.states().isEmpty() && !filter.states().contains(s)
                    || afterState != null && s.ordinal() < afterState.ordinal()) {
                continue;
            }
            for (QueueId id : parts.spool().list(s)) {
                if (s == afterState && id.value().compareTo(afterId) <= 0) {
                    continue;
                }
                Optional<Message> m = read(s, id).filter(x -> filter.matches(x, now));
                if (m.isEmpty()) {
                    continue;
                }
                if (out.size() == limit) { // one more exists: this page is not the last
                    Message last = out.get(out.size() - 1);
                    return new Page(out, last.state().key() + ":" + last.id().value());
                }
                out.add(m.get());
            }
        }
        return new Page(out, null);
    }

    /** One message, wherever it is. */
    public Optional<Message> show(QueueId id) {
        for (int i = 0; i < 3; i++) { // it may move between the look-up and the read: look again
            Optional<QueueState> s = parts.spool().stateOf(id);
            if (s.isEmpty()) {
                return Optional.empty();
            }
            Optional<Message> m = read(s.get(), id);
            if (m.isPresent()) {
                return m;
            }
        }
        return Optional.empty();
    }

    private Optional<Message> read(QueueState s, QueueId id) {
        if (s == QueueState.CORRUPT) {
            long size = parts.spool().bodySize(s, id);
            return Optional.of(new Message(id, s, null, List.of(), null, "", 0, null, "", size));
        }
        return parts.spool().peek(s, id).map(st -> {
            Envelope e = st.envelope();
            return new Message(id, s, e.sender(), e.recipients(), e.receivedAt(), e.submitter(), e.attempts(),
                    e.nextAttempt(), e.lastError(), st.bodySize());
        });
    }

    /**
     * A deferred message is tried now (incoming ones are due already); its route's open circuits let a probe through
     * now, so that the retry does not bounce off them.
     */
    public void retry(QueueId id) throws ActionException {
        try {
            parts.scheduler().locked(() -> {
                QueueState s = parts.scheduler().locate(id);
                switch (s) {
                    case INCOMING -> { } // due already
                    case DEFERRED -> {
                        parts.spool().peek(QueueState.DEFERRED, id)
                                .ifPresent(st -> parts.engine().probeNow(st.envelope()));
                        parts.scheduler().dueNow(id);
                        log.info("{}: retry now (operator)", id);
                    }
                    case HOLD -> throw new ActionException(false, id + " is held: release it to deliver it");
                    case FAILED -> throw new ActionException(false, id + " failed: requeue it to try again");
                    default -> throw new ActionException(false, id + " is in " + s.key() + " and cannot be retried");
                }
                return null;
            });
        } catch (SpoolException e) { // only reads that answer empty on failure: never thrown
            throw new IllegalStateException(e);
        }
    }

    /** Every deferred message is due now (every open circuit lets a probe through now); returns how many. */
    public int retryAll() {
        try {
            return parts.scheduler().locked(() -> {
                parts.engine().probeAllNow();
                int n = parts.scheduler().allDueNow();
                if (n > 0) {
                    log.info("queue: {} deferred messages retried now (operator)", n);
                }
                return n;
            });
        } catch (SpoolException e) { // nothing here touches the spool
            throw new IllegalStateException(e);
        }
    }

    /** Puts an incoming or deferred message aside: never scheduled until released. Returns its former state. */
    public QueueState hold(QueueId id) throws ActionException, SpoolException {
        return parts.scheduler().locked(() -> {
            QueueState s = locateIn(id, Set.of(QueueState.INCOMING, QueueState.DEFERRED),
                    ": only incoming and deferred messages can be held");
            parts.scheduler().moveOut(id, s, QueueState.HOLD);
            log.info("{}: held (was {})", id, s.key());
            return s;
        });
    }

    /** A held message back to incoming, due now. */
    public void release(QueueId id) throws ActionException, SpoolException {
        parts.scheduler().locked(() -> {
            locateIn(id, Set.of(QueueState.HOLD), ", not hold");
            parts.spool().move(id, QueueState.HOLD, QueueState.INCOMING);
            parts.scheduler().enqueueFresh(id);
            log.info("{}: released to incoming", id);
            return null;
        });
    }

    /**
     * The state of {@code id} (under the scheduler's lock), if it is one of {@code allowed}; else the action is
     * refused: "ID is in STATE" and {@code why}.
     */
    private QueueState locateIn(QueueId id, Set<QueueState> allowed, String why) throws ActionException {
        QueueState s = parts.scheduler().locate(id);
        if (!allowed.contains(s)) {
            throw new ActionException(false, id + " is in " + s.key() + why);
        }
        return s;
    }

    /** Removes a message (envelope and body) from any state but active. Returns the state it was in. */
    public QueueState delete(QueueId id) throws ActionException, SpoolException {
        return parts.scheduler().locked(() -> {
            QueueState s = parts.scheduler().locate(id);
            parts.scheduler().unschedule(id, s);
            parts.spool().remove(id, s);
            log.info("{}: deleted from {} (operator)", id, s.key());
            return s;
        });
    }

    /** A failed message back to incoming for its failed recipients, as if just received (a new lifetime). */
    public void requeue(QueueId id) throws ActionException, SpoolException {
        parts.scheduler().locked(() -> {
            locateIn(id, Set.of(QueueState.FAILED), ": only failed messages can be requeued");
            Spool.Stored st = parts.spool().peek(QueueState.FAILED, id)
                    .orElseThrow(() -> new ActionException(true, "no readable message " + id + " in failed"));
            Envelope e = st.envelope();
            Instant now = parts.clock().instant();
            parts.spool().update(new Envelope(e.id(), e.sender(), e.recipients(), now, e.submitter(), 0, now, "",
                    e.smtputf8()), st.bodySize(), QueueState.FAILED, QueueState.INCOMING);
            parts.scheduler().enqueueFresh(id);
            log.info("{}: requeued from failed to={}", id, e.recipients());
            return null;
        });
    }

    /**
     * Figures for metrics: messages and body bytes per state, and the receipt time of the oldest message waiting
     * for delivery (incoming, active, deferred or hold), from the ids (time-ordered) and file sizes only.
     */
    public record Stats(Map<QueueState, Long> messages, Map<QueueState, Long> bytes, Optional<Instant> oldest) {}

    public Stats stats() throws SpoolException {
        Map<QueueState, Long> messages = new EnumMap<>(QueueState.class);
        Map<QueueState, Long> bytes = new EnumMap<>(QueueState.class);
        Instant oldest = null;
        Set<QueueState> waiting = EnumSet.of(QueueState.INCOMING, QueueState.ACTIVE, QueueState.DEFERRED,
                QueueState.HOLD);
        for (QueueState s : QueueState.values()) {
            List<QueueId> ids = parts.spool().list(s);
            messages.put(s, (long) ids.size());
            long sum = 0;
            for (QueueId id : ids) {
                sum += parts.spool().bodySize(s, id);
            }
            bytes.put(s, sum);
            if (waiting.contains(s) && !ids.isEmpty()) {
                Instant t = ids.get(0).time(); // ids are time-ordered: the first is the oldest
                oldest = oldest == null || t.isBefore(oldest) ? t : oldest;
            }
        }
        return new Stats(messages, bytes, Optional.ofNullable(oldest));
    }
}
