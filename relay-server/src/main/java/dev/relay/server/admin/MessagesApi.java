package dev.relay.server.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.relay.history.HistoryStore;
import dev.relay.server.admin.query.QueryString;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The message history's JSON API under {@code /api/messages} (what {@code relay history} and {@code relay trace}
 * call), read only:
 * <pre>
 * GET /api/messages?since=2h&amp;until=..&amp;sender=..&amp;recipient=..&amp;message-id=..&amp;upstream=..&amp;status=..
 *     newest first, paged like /api/queue: &amp;limit=N (default 100, at most 1000) &amp;after=&lt;"next" of the page before&gt;
 * GET /api/messages/&lt;id&gt;   the timeline of the messages with this queue id, Message-ID or upstream id
 * </pre>
 * {@code since}/{@code until}: an age ({@code 2h}, {@code 30m}, {@code 7d}) or an ISO-8601 instant. With a token,
 * every request needs {@code Authorization: Bearer <token>}, as {@code /api/queue}.
 */
final class MessagesApi implements HttpHandler {
    private static final Logger log = LoggerFactory.getLogger(MessagesApi.class);
    static final String PREFIX = "/api/messages";

    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    private final HistoryStore store;
    private final BearerToken token;
    private final InstantSource clock;

    MessagesApi(HistoryStore store, String token, InstantSource clock) {
        this.store = store;
        this.token = new BearerToken(token);
        this.clock = clock;
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        try (ex) {
            if (token.refused(ex)) {
                return;
            }
            if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
                ex.getResponseHeaders().set("Allow", "GET");
                send(ex, 405, error("method not allowed: use GET"));
                return;
            }
            String rest = ex.getRequestURI().getPath().substring(PREFIX.length());
            while (rest.startsWith("/")) {
                rest = rest.substring(1);
            }
            try {
                if (rest.isEmpty()) {
                    list(ex);
                } else if (rest.contains("/")) {
                    send(ex, 404, error("no such resource: see GET " + PREFIX));
                } else {
                    trace(ex, URLDecoder.decode(rest, StandardCharsets.UTF_8));
                }
            } catch (IllegalArgumentException e) {
                send(ex, 400, error(e.getMessage()));
            } catch (SQLException e) {
                log.error("history API: {}: {}", ex.getRequestURI().getPath(), e.getMessage());
                send(ex, 500, error("history error: " + e.getMessage()));
            }
        }
    }

    private void list(HttpExchange ex) throws IOException, SQLException {
        String q = ex.getRequestURI().getRawQuery();
        Instant now = clock.instant();
        for (QueryString.Pair pair : QueryString.pairs(q)) {
            String key = pair.key();
            if (!List.of("since", "until", "sender", "recipient", "message-id", "upstream", "status", "limit", "after",
                    "").contains(key)) {
                throw new IllegalArgumentException("unknown filter '" + key + "': use since, until, sender, recipient, "
                        + "message-id, upstream, status (and limit, after to page)");
            }
        }
        HistoryStore.Query query = new HistoryStore.Query(time(QueryString.param(q, "since"), now, "since"),
                time(QueryString.param(q, "until"), now, "until"), blankToNull(QueryString.param(q, "sender")),
                blankToNull(QueryString.param(q, "recipient")), blankToNull(QueryString.param(q, "message-id")),
                blankToNull(QueryString.param(q, "upstream")), blankToNull(QueryString.param(q, "status")));
        HistoryStore.Page page = store.search(query, QueryString.param(q, "after"),
                QueueApi.limit(QueryString.param(q, "limit")));
        List<Object> out = new ArrayList<>();
        for (HistoryStore.MessageSummary m : page.messages()) {
            out.add(json(m));
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("messages", out);
        body.put("count", out.size());
        body.put("next", page.next());
        send(ex, 200, body);
    }

    private void trace(HttpExchange ex, String id) throws IOException, SQLException {
        List<HistoryStore.Trace> traces = store.trace(id);
        if (traces.isEmpty()) {
            send(ex, 404, error("no message " + id + " in the history (queue id, Message-ID or upstream id)"));
            return;
        }
        List<Object> out = new ArrayList<>();
        for (HistoryStore.Trace t : traces) {
            Map<String, Object> m = json(t.message());
            List<Object> events = new ArrayList<>();
            for (HistoryStore.Event e : t.events()) {
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("at", e.at().toString());
                j.put("kind", e.kind());
                j.put("recipient", e.recipient());
                j.put("upstream", e.upstream());
                j.put("host", e.host());
                j.put("duration_ms", e.durationMillis());
                j.put("code", e.code());
                j.put("enhanced_code", e.enhanced());
                j.put("text", e.text());
                j.put("upstream_id", e.upstreamId());
                j.put("next_attempt", e.next() == null ? null : e.next().toString());
                j.put("detail", e.detail());
                j.put("replica", e.replica());
                events.add(j);
            }
            m.put("events", events);
            out.add(m);
        }
        send(ex, 200, Map.of("messages", out, "count", out.size()));
    }

    private static Map<String, Object> json(HistoryStore.MessageSummary m) {
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("id", m.queueId());
        j.put("received_at", m.receivedAt().toString());
        j.put("status", m.status());
        j.put("sender", m.sender());
        j.put("recipients", m.recipients());
        j.put("message_id", m.messageId());
        j.put("subject", m.subject());
        j.put("size", m.size());
        j.put("listener", m.listener());
        j.put("client", m.client());
        j.put("user", m.user());
        j.put("trusted_network", m.trusted());
        j.put("tls_protocol", m.tlsProtocol());
        j.put("tls_cipher", m.tlsCipher());
        j.put("upstream", m.upstream());
        j.put("upstream_id", m.upstreamId());
        j.put("dsn_id", m.dsnId());
        j.put("updated_at", m.updatedAt().toString());
        j.put("replica", m.replica());
        return j;
    }

    /** An age before {@code now} ({@code 2h}) or an ISO-8601 instant; null for null. */
    static Instant time(String value, Instant now, String name) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return Instant.parse(value.trim());
        } catch (DateTimeParseException notAnInstant) {
            try {
                Duration d = QueueApi.duration(value.trim());
                return now.minus(d);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(name + ": '" + value + "' is neither an age (30m, 2h, 7d) nor an "
                        + "ISO-8601 time (2026-12-04T10:42:00Z)");
            }
        }
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private static Map<String, Object> error(String message) {
        return Map.of("error", message);
    }

    private static void send(HttpExchange ex, int status, Object body) throws IOException {
        AdminServer.respond(ex, status, "application/json", Json.MAPPER.writeValueAsString(body) + "\n");
    }
}
