package dev.relay.server.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.relay.core.model.QueueId;
import dev.relay.core.queue.QueueAdmin;
import dev.relay.server.admin.action.QueueActions;
import dev.relay.server.admin.query.QueryString;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.SpoolException;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The queue's JSON API under {@code /api/queue} (what {@code relay queue} calls):
 * <pre>
 * GET    /api/queue?state=deferred,hold&amp;sender=..&amp;recipient=..&amp;min-age=10m   list, paged:
 *        &amp;limit=N (default 100, at most 1000) &amp;after=&lt;the "next" of the page before&gt;
 * GET    /api/queue/&lt;id&gt;                                                   show
 * POST   /api/queue/&lt;id&gt;/retry | hold | release | requeue                   act
 * DELETE /api/queue/&lt;id&gt;                                                   delete
 * POST   /api/queue/retry-all                                              every deferred message now
 * POST   /api/queue/handoff   {"to", "user", "password", "timeout"}, each optional   hand-off by hand, counts
 * </pre>
 * With a token, every request needs {@code Authorization: Bearer <token>} (compared in constant time).
 */
final class QueueApi implements HttpHandler {
    private static final Logger log = LoggerFactory.getLogger(QueueApi.class);
    static final String PREFIX = "/api/queue";
    /** Messages per page of {@code GET /api/queue} without {@code limit}, and the most one page may hold. */
    static final int DEFAULT_LIMIT = 100;
    static final int MAX_LIMIT = 1000;
    /** Made at first use: Jackson's set-up (~50 ms at start) is not needed before a request. */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    private final QueueAdmin admin;
    private final BearerToken token;
    private final InstantSource clock;
    private final QueueActions operations;
    private final QueueActions.Handoffs handoffs;

    /** Where an operator's action is recorded (the message history): queue id, action, who. */
    interface Actions extends QueueActions.Recorder {
        Actions NONE = (id, action, by) -> { };
    }

    QueueApi(QueueAdmin admin, String token, InstantSource clock) {
        this(admin, token, clock, Actions.NONE);
    }

    QueueApi(QueueAdmin admin, String token, InstantSource clock, Actions actions) {
        this(admin, token, clock, actions, null);
    }

    /** @param handoffs the hand-off by hand ({@code POST /api/queue/handoff}), or null: not offered */
    QueueApi(QueueAdmin admin, String token, InstantSource clock, Actions actions, QueueActions.Handoffs handoffs) {
        this.handoffs = handoffs;
        this.admin = admin;
        this.token = new BearerToken(token);
        this.clock = clock;
        this.operations = new QueueActions(admin, actions::acted);
    }

    /** Who acted, for the history: the admin token's holder, or a client on loopback (no token configured). */
    private String by(HttpExchange ex) {
        return (token.configured() ? "token holder at " : "loopback ")
                + ex.getRemoteAddress().getAddress().getHostAddress();
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        try (ex) {
            if (token.refused(ex)) {
                return;
            }
            String rest = ex.getRequestURI().getPath().substring(PREFIX.length());
            List<String> parts = new ArrayList<>();
            for (String p : rest.split("/")) {
                if (!p.isEmpty()) {
                    parts.add(p);
                }
            }
            String method = ex.getRequestMethod();
            try {
                route(ex, method, parts);
            } catch (QueueAdmin.ActionException e) {
                send(ex, e.notFound() ? 404 : 409, error(e.getMessage()));
            } catch (IllegalArgumentException e) {
                send(ex, 400, error(e.getMessage()));
            } catch (IllegalStateException e) { // a hand-off runs already, or the relay is stopping
                send(ex, 409, error(e.getMessage()));
            } catch (SpoolException e) {
                log.error("queue API: {} {}: {}", method, ex.getRequestURI().getPath(), e.getMessage());
                send(ex, 500, error("spool error: " + e.getMessage()));
            }
        }
    }

    private void route(HttpExchange ex, String method, List<String> parts)
            throws IOException, QueueAdmin.ActionException, SpoolException {
        if (parts.isEmpty()) {
            if (!method.equals("GET")) {
                notAllowed(ex, "GET");
                return;
            }
            Instant now = clock.instant();
            String query = ex.getRequestURI().getRawQuery();
            QueueAdmin.Page page = admin.list(filter(query), QueryString.param(query, "after"), limit(QueryString.param(query, "limit")));
            List<Object> out = new ArrayList<>();
            for (QueueAdmin.Message m : page.messages()) {
                out.add(json(m, now));
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("messages", out);
            body.put("count", out.size());
            body.put("next", page.next());
            send(ex, 200, body);
            return;
        }
        if (parts.size() == 1 && parts.get(0).equals("retry-all")) {
            if (!method.equals("POST")) {
                notAllowed(ex, "POST");
                return;
            }
            int n = admin.retryAll();
            send(ex, 200, Map.of("retried", n, "message", n + " deferred messages are due now"));
            return;
        }
        if (parts.size() == 1 && parts.get(0).equals("handoff")) {
            if (!method.equals("POST")) {
                notAllowed(ex, "POST");
            } else if (handoffs == null) {
                send(ex, 404, error("no hand-off here: this relay's queue API does not offer it"));
            } else {
                send(ex, 200, HandoffJson.answer(handoffs.handoff(HandoffJson.request(ex.getRequestBody()), by(ex))));
            }
            return;
        }
        QueueId id = id(parts.get(0));
        if (parts.size() == 1) {
            switch (method) {
                case "GET" -> {
                    var m = admin.show(id);
                    if (m.isPresent()) {
                        send(ex, 200, json(m.get(), clock.instant()));
                    } else {
                        send(ex, 404, error("no message " + id + " in the queue"));
                    }
                }
                case "DELETE" -> {
                    QueueActions.Done done = operations.act(id, "delete", by(ex));
                    send(ex, 200, result(id, done.result(), done.message()));
                }
                default -> notAllowed(ex, "GET, DELETE");
            }
            return;
        }
        if (parts.size() != 2) {
            send(ex, 404, error("no such resource: see GET " + PREFIX));
            return;
        }
        if (!method.equals("POST")) {
            notAllowed(ex, "POST");
            return;
        }
        switch (parts.get(1)) {
            case "retry", "hold", "release", "requeue" -> {
                QueueActions.Done done = operations.act(id, parts.get(1), by(ex));
                send(ex, 200, result(id, done.result(), done.message()));
            }
            default -> send(ex, 404, error("unknown action '" + parts.get(1)
                    + "': use retry, hold, release or requeue"));
        }
    }

    static QueueAdmin.Filter filter(String rawQuery) {
        Set<QueueState> states = EnumSet.noneOf(QueueState.class);
        String sender = null;
        String recipient = null;
        Duration minAge = null;
        for (QueryString.Pair pair : QueryString.pairs(rawQuery)) {
            String value = pair.value();
            switch (pair.key()) {
                case "state" -> {
                    for (String s : value.split(",")) {
                        if (!s.isBlank()) {
                            states.add(state(s.trim()));
                        }
                    }
                }
                case "sender" -> sender = value;
                case "recipient" -> recipient = value;
                case "min-age" -> minAge = duration(value);
                case "", "limit", "after" -> { } // paging, not filters
                default -> throw new IllegalArgumentException("unknown filter '" + pair.key()
                        + "': use state, sender, recipient or min-age (and limit, after to page)");
            }
        }
        return new QueueAdmin.Filter(states, sender, recipient, minAge);
    }

    /** The page size: {@link #DEFAULT_LIMIT} when not given, at most {@link #MAX_LIMIT}. */
    static int limit(String s) {
        if (s == null) {
            return DEFAULT_LIMIT;
        }
        try {
            int n = Integer.parseInt(s.trim());
            if (n >= 1 && n <= MAX_LIMIT) {
                return n;
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw new IllegalArgumentException("limit must be 1 to " + MAX_LIMIT + ", not '" + s + "'");
    }

    static QueueState state(String s) {
        for (QueueState q : QueueState.values()) {
            if (q.key().equals(s.toLowerCase(Locale.ROOT))) {
                return q;
            }
        }
        throw new IllegalArgumentException("unknown state '" + s + "': use incoming, active, deferred, hold, "
                + "failed or corrupt");
    }

    /** The same duration spellings as the configuration (30s, 10m, 2h, 1d, ISO-8601). */
    static Duration duration(String s) {
        try {
            return dev.relay.config.Durations.parse(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("min-age '" + s + "' is not a duration: write e.g. 30s, 10m, 2h, 1d");
        }
    }

    private static QueueId id(String s) {
        if (!QueueId.isValid(s)) {
            throw new IllegalArgumentException("'" + s + "' is not a queue id (like 01JD4X3K8M-7Q2ZK9MB)");
        }
        return new QueueId(s);
    }

    static Map<String, Object> json(QueueAdmin.Message m, Instant now) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("id", m.id().value());
        o.put("state", m.state().key());
        o.put("sender", m.sender() == null ? null : m.sender().value());
        o.put("recipients", m.recipients().stream().map(r -> r.value()).toList());
        o.put("received", m.receivedAt() == null ? null : m.receivedAt().toString());
        o.put("age_seconds", m.age(now).toSeconds());
        o.put("submitter", m.submitter());
        o.put("attempts", m.attempts());
        o.put("next_attempt", m.nextAttempt() == null ? null : m.nextAttempt().toString());
        o.put("last_error", m.lastError());
        o.put("size", m.size());
        return o;
    }

    private static Map<String, Object> result(QueueId id, String result, String message) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("id", id.value());
        o.put("result", result);
        o.put("message", id.value() + ": " + message);
        return o;
    }

    private static Map<String, Object> error(String message) {
        return Map.of("error", message);
    }

    private static void notAllowed(HttpExchange ex, String allow) throws IOException {
        ex.getResponseHeaders().set("Allow", allow);
        send(ex, 405, error("method not allowed here: use " + allow));
    }

    private static void send(HttpExchange ex, int status, Object body) throws IOException {
        byte[] bytes = Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }
}
