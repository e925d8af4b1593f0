package dev.relay.server.console;

import static dev.relay.server.admin.query.QueryString.param;

import dev.relay.config.Durations;
import dev.relay.core.model.MailAddress;
import dev.relay.core.queue.QueueAdmin;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.SpoolException;
import dev.relay.history.HistoryStore;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The queue and history pages' queries: the same filters as {@code /api/queue} and {@code /api/messages}, read
 * from the query string of the page's filter form (an empty field filters nothing).
 */
final class ConsoleQueries {
    static final int PAGE = 100;

    private final QueueAdmin queue;
    private final HistoryStore history;

    ConsoleQueries(QueueAdmin queue, HistoryStore history) {
        this.queue = queue;
        this.history = history;
    }

    Pages.QueueList queue(String q, Instant now) throws SpoolException {
        String state = blank(param(q, "state"));
        String sender = blank(param(q, "sender"));
        String recipient = blank(param(q, "recipient"));
        String minAge = blank(param(q, "min-age"));
        Set<QueueState> states = EnumSet.noneOf(QueueState.class);
        if (state != null) {
            states.add(state(state));
        }
        Duration age = minAge == null ? null : duration(minAge, "min-age");
        List<Pages.QueueRow> rows = new ArrayList<>();
        String next = null;
        if (queue != null) {
            QueueAdmin.Page page = queue.list(new QueueAdmin.Filter(states, sender, recipient, age),
                    blank(param(q, "after")), PAGE);
            for (QueueAdmin.Message m : page.messages()) {
                List<String> actions = new ArrayList<>();
                for (Map.Entry<String, EnumSet<QueueState>> a : Console.ACTIONS.entrySet()) {
                    if (a.getValue().contains(m.state())) {
                        actions.add(a.getKey());
                    }
                }
                rows.add(new Pages.QueueRow(m.id().value(), m.state().key(),
                        m.sender() == null ? "" : "<" + m.sender().value() + ">", addresses(m.recipients()),
                        ConsoleData.age(m.age(now)), m.attempts(), Console.instant(m.nextAttempt()),
                        m.lastError() == null ? "" : m.lastError(), actions));
            }
            next = page.next();
        }
        return new Pages.QueueList(orEmpty(state), orEmpty(sender), orEmpty(recipient), orEmpty(minAge), rows, next);
    }

    Pages.HistorySearch history(String q, Instant now) throws SQLException {
        String since = param(q, "since") == null ? "1d" : param(q, "since").trim();
        String sender = blank(param(q, "sender"));
        String recipient = blank(param(q, "recipient"));
        String messageId = blank(param(q, "message-id"));
        String upstream = blank(param(q, "upstream"));
        String status = blank(param(q, "status"));
        List<Pages.HistoryRow> rows = new ArrayList<>();
        String next = null;
        if (history != null) {
            HistoryStore.Page page = history.search(new HistoryStore.Query(time(blank(since), now), null, sender,
                    recipient, messageId, upstream, status), blank(param(q, "after")), PAGE);
            for (HistoryStore.MessageSummary m : page.messages()) {
                rows.add(row(m));
            }
            next = page.next();
        }
        return new Pages.HistorySearch(since, orEmpty(sender), orEmpty(recipient), orEmpty(messageId),
                orEmpty(upstream), orEmpty(status), rows, next, history != null);
    }

    /** The timelines of the messages {@code id} names (queue id, Message-ID or upstream id). */
    List<Pages.Timeline> timeline(String id) throws SQLException {
        List<Pages.Timeline> out = new ArrayList<>();
        if (history == null) {
            return out;
        }
        for (HistoryStore.Trace t : history.trace(id)) {
            HistoryStore.MessageSummary m = t.message();
            List<Pages.Count> details = new ArrayList<>();
            details.add(new Pages.Count("listener", orEmpty(m.listener())));
            details.add(new Pages.Count("client", orEmpty(m.client())));
            details.add(new Pages.Count("user", m.user() != null ? m.user() : m.trusted() ? "(trusted network)" : ""));
            details.add(new Pages.Count("TLS", m.tlsProtocol() == null ? "none"
                    : m.tlsProtocol() + " " + orEmpty(m.tlsCipher())));
            details.add(new Pages.Count("size", m.size() + " bytes"));
            details.add(new Pages.Count("upstream id", orEmpty(m.upstreamId())));
            if (m.replica() != null) { // the shared history (cluster.database): the replica that received it
                details.add(new Pages.Count("replica", m.replica()));
            }
            List<Pages.Event> events = new ArrayList<>();
            for (HistoryStore.Event e : t.events()) {
                String other = e.replica() == null || e.replica().equals(m.replica()) ? ""
                        : " (replica " + e.replica() + ")";
                events.add(new Pages.Event(e.at().toString(), e.kind(), describe(e) + other));
            }
            out.add(new Pages.Timeline(row(m), details, events));
        }
        return out;
    }

    /** One line for an event, like {@code relay trace} gives. */
    static String describe(HistoryStore.Event e) {
        StringBuilder s = new StringBuilder();
        if (e.recipient() != null) {
            s.append('<').append(e.recipient()).append("> ");
        }
        if (e.upstream() != null) {
            s.append("via ").append(e.upstream());
            if (e.host() != null) {
                s.append(" (").append(e.host()).append(')');
            }
            s.append(' ');
        }
        if (e.durationMillis() != null) {
            s.append(e.durationMillis()).append(" ms ");
        }
        if (e.code() != null) {
            s.append(e.code()).append(' ');
        }
        if (e.enhanced() != null) {
            s.append(e.enhanced()).append(' ');
        }
        if (e.text() != null) {
            s.append(e.text()).append(' ');
        }
        if (e.upstreamId() != null) {
            s.append("[upstream id ").append(e.upstreamId()).append("] ");
        }
        if (e.next() != null) {
            s.append("next attempt ").append(e.next()).append(' ');
        }
        if (e.detail() != null) {
            s.append(e.detail());
        }
        return s.toString().trim();
    }

    private static Pages.HistoryRow row(HistoryStore.MessageSummary m) {
        return new Pages.HistoryRow(m.queueId(), m.receivedAt().toString(), m.status(), "<" + m.sender() + ">",
                String.join(", ", m.recipients()), orEmpty(m.messageId()), orEmpty(m.subject()),
                orEmpty(m.upstream()), orEmpty(m.replica()));
    }

    private static String addresses(List<MailAddress> list) {
        return String.join(", ", list.stream().map(MailAddress::value).toList());
    }

    static QueueState state(String s) {
        for (QueueState q : QueueState.values()) {
            if (q.key().equals(s.toLowerCase(Locale.ROOT))) {
                return q;
            }
        }
        throw new IllegalArgumentException("unknown state '" + s + "'");
    }

    static Duration duration(String s, String name) {
        try {
            return Durations.parse(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + " '" + s + "' is not a duration: write e.g. 30s, 10m, 2h, 1d");
        }
    }

    /** An age before {@code now} or an ISO-8601 instant, as {@code /api/messages} takes them; null for null. */
    static Instant time(String value, Instant now) {
        if (value == null) {
            return null;
        }
        try {
            return Instant.parse(value);
        } catch (DateTimeParseException notAnInstant) {
            return now.minus(duration(value, "since"));
        }
    }

    private static String blank(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    private static String orEmpty(String s) {
        return s == null ? "" : s;
    }
}
