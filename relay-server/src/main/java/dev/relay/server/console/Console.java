package dev.relay.server.console;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.queue.QueueAdmin;
import dev.relay.core.spool.QueueState;
import dev.relay.history.HistoryRecorder;
import dev.relay.server.admin.action.QueueActions;
import dev.relay.server.admin.query.QueryString;
import gg.jte.ContentType;
import gg.jte.TemplateEngine;
import gg.jte.output.Utf8ByteOutput;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The web console under {@code /} of the admin listener: overview, queue (with confirmed actions), history and
 * timelines, and on the demo defaults the capture sink's outbox. Pages are GET; the only state changes are POSTs
 * that carry the CSRF token ({@link ConsoleAuth}). Queue actions go through {@link QueueAdmin} and are recorded in
 * the history through the same {@link QueueActions} as {@code /api/queue}.
 */
public final class Console implements HttpHandler {
    private static final Logger log = LoggerFactory.getLogger(Console.class);
    /** The actions, and the states a message must be in for each (as QueueAdmin enforces). */
    static final Map<String, EnumSet<QueueState>> ACTIONS = new LinkedHashMap<>();

    static {
        ACTIONS.put("hold", EnumSet.of(QueueState.INCOMING, QueueState.DEFERRED));
        ACTIONS.put("release", EnumSet.of(QueueState.HOLD));
        ACTIONS.put("retry", EnumSet.of(QueueState.DEFERRED));
        ACTIONS.put("requeue", EnumSet.of(QueueState.FAILED));
        ACTIONS.put("delete", EnumSet.allOf(QueueState.class));
    }

    private final TemplateEngine templates = TemplateEngine.createPrecompiled(null, ContentType.Html, null,
            "dev.relay.server.console.templates");
    private final QueueAdmin queue;
    private final ConsoleAuth auth;
    private final ConsoleData data;
    private final ConsoleQueries queries;
    private final QueueActions actions;
    private final InstantSource clock;
    private volatile DemoOutbox demo;

    /**
     * @param queue   the queue, or null for none
     * @param history the message history, or null when it is off
     * @param token   the admin token the login form asks for, or null (a loopback bind: no login)
     */
    public Console(MeterRegistry registry, QueueAdmin queue, HistoryRecorder history, String token,
                   InstantSource clock) {
        this.queue = queue;
        this.auth = new ConsoleAuth(token, clock);
        this.data = new ConsoleData(registry, queue, history == null ? null : history.store());
        this.queries = new ConsoleQueries(queue, history == null ? null : history.store());
        this.actions = queue == null ? null : new QueueActions(queue, history == null ? QueueActions.Recorder.NONE
                : history::action);
        this.clock = clock;
    }

    /** Shows the demo capture sink's outbox under {@code /demo} (the demo defaults only). */
    public void demoOutbox(Path outbox) {
        this.demo = outbox == null ? null : new DemoOutbox(outbox);
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getPath();
            String method = ex.getRequestMethod();
            ex.getResponseHeaders().set("Cache-Control", "no-store");
            ex.getResponseHeaders().set("X-Frame-Options", "DENY");
            ex.getResponseHeaders().set("Content-Security-Policy",
                    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'");
            ex.getResponseHeaders().set("Referrer-Policy", "same-origin");
            if (path.equals("/console.css")) {
                css(ex);
                return;
            }
            if (path.equals("/login")) {
                login(ex, method);
                return;
            }
            String csrf = auth.csrf(ex);
            if (csrf == null) { // a token is required and this request has no session
                redirect(ex, "/login", null);
                return;
            }
            Pages.Frame frame = new Pages.Frame("", csrf, demo != null, auth.tokenRequired(),
                    notice(param(ex, "done")));
            try {
                if (method.equals("POST")) {
                    post(ex, path);
                } else if (method.equals("GET") || method.equals("HEAD")) {
                    get(ex, path, frame);
                } else {
                    ex.getResponseHeaders().set("Allow", "GET, POST");
                    page(ex, 405, "message", frame.title("Not allowed"), "method not allowed: use GET or POST");
                }
            } catch (IllegalArgumentException e) {
                page(ex, 400, "message", frame.title("Refused"), e.getMessage());
            } catch (Exception e) {
                log.error("console: {} {}: {}", method, path, e.toString());
                page(ex, 500, "message", frame.title("Error"), "the console could not do this: " + e.getMessage());
            }
        }
    }

    private void get(HttpExchange ex, String path, Pages.Frame frame) throws Exception {
        String q = ex.getRequestURI().getRawQuery();
        List<String> parts = parts(path);
        if (parts.isEmpty()) {
            page(ex, 200, "overview", frame.title("Overview"), data.overview(clock.instant()));
        } else if (parts.equals(List.of("queue"))) {
            page(ex, 200, "queue", frame.title("Queue"), queries.queue(q, clock.instant()));
        } else if (parts.size() == 3 && parts.get(0).equals("queue") && parts.get(2).equals("confirm")) {
            String action = param(ex, "action");
            if (action == null || !ACTIONS.containsKey(action)) {
                throw new IllegalArgumentException("unknown action: use hold, release, retry, requeue or delete");
            }
            QueueId id = id(parts.get(1));
            Optional<QueueAdmin.Message> m = queue == null ? Optional.empty() : queue.show(id);
            String what = m.map(x -> x.state().key() + ", from " + (x.sender() == null ? "" : x.sender().value())
                    + " to " + String.join(", ", x.recipients().stream().map(MailAddress::value).toList()))
                    .orElse("not in the queue");
            page(ex, 200, "confirm", frame.title("Confirm " + action), new Pages.Confirm(id.value(), action, what));
        } else if (parts.equals(List.of("history"))) {
            page(ex, 200, "history", frame.title("History"), queries.history(q, clock.instant()));
        } else if (parts.size() == 2 && parts.get(0).equals("history")) {
            List<Pages.Timeline> t = queries.timeline(URLDecoder.decode(parts.get(1), StandardCharsets.UTF_8));
            if (t.isEmpty()) {
                page(ex, 404, "message", frame.title("Not found"), "no message " + parts.get(1) + " in the history");
            } else {
                page(ex, 200, "timeline", frame.title("Timeline"), t);
            }
        } else if (parts.equals(List.of("demo")) && demo != null) {
            page(ex, 200, "demo", frame.title("Demo outbox"), demo.list());
        } else if (parts.size() == 2 && parts.get(0).equals("demo") && demo != null) {
            Optional<Pages.DemoMessage> m = demo.show(parts.get(1));
            if (m.isEmpty()) {
                page(ex, 404, "message", frame.title("Not found"), "no message " + parts.get(1) + " in the outbox");
            } else {
                page(ex, 200, "demoMessage", frame.title(m.get().file()), m.get());
            }
        } else {
            page(ex, 404, "message", frame.title("Not found"), "no page " + path);
        }
    }

    /** {@code POST /queue/<id>/<action>} and {@code POST /logout}, each with the CSRF token. */
    private void post(HttpExchange ex, String path) throws Exception {
        Map<String, String> form = form(ex);
        if (!auth.csrfMatches(ex, form.get("csrf"))) {
            throw new IllegalArgumentException("the form's CSRF token is missing or stale: reload the page");
        }
        List<String> parts = parts(path);
        if (parts.equals(List.of("logout"))) {
            ex.getResponseHeaders().add("Set-Cookie", auth.logout(ex));
            redirect(ex, "/login", null);
            return;
        }
        if (parts.size() != 3 || !parts.get(0).equals("queue") || !ACTIONS.containsKey(parts.get(2))
                || queue == null) {
            throw new IllegalArgumentException("no such action " + path);
        }
        QueueId id = id(parts.get(1));
        String action = parts.get(2);
        String by = (auth.tokenRequired() ? "console: token holder at " : "console: loopback ")
                + ex.getRemoteAddress().getAddress().getHostAddress();
        try {
            QueueActions.Done done = actions.act(id, action, by); // as /api/queue: QueueAdmin, then the history
            redirect(ex, "/queue", id.value() + ": " + done.message());
        } catch (QueueAdmin.ActionException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
    }

    private void login(HttpExchange ex, String method) throws IOException {
        Pages.Frame frame = new Pages.Frame("Log in", null, false, true, null);
        if (!auth.tokenRequired()) {
            redirect(ex, "/", null);
        } else if (method.equals("POST")) {
            String cookie = auth.login(form(ex).get("token"));
            if (cookie == null) {
                page(ex, 401, "login", frame.title("Log in"), "that is not the admin token");
            } else {
                ex.getResponseHeaders().add("Set-Cookie", cookie);
                redirect(ex, "/", null);
            }
        } else {
            page(ex, 200, "login", frame, "");
        }
    }

    private void page(HttpExchange ex, int status, String template, Pages.Frame frame, Object model)
            throws IOException {
        Utf8ByteOutput out = new Utf8ByteOutput();
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("frame", frame);
        params.put("model", model);
        templates.render(template + ".jte", params, out);
        ex.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(status, -1);
            return;
        }
        ex.sendResponseHeaders(status, out.getContentLength());
        try (OutputStream body = ex.getResponseBody()) {
            out.writeTo(body);
        }
    }

    private static void redirect(HttpExchange ex, String to, String done) throws IOException {
        ex.getResponseHeaders().set("Location", done == null ? to
                : to + "?done=" + URLEncoder.encode(done, StandardCharsets.UTF_8));
        ex.sendResponseHeaders(303, -1);
    }

    private static void css(HttpExchange ex) throws IOException {
        byte[] css;
        try (InputStream in = Console.class.getResourceAsStream("console.css")) {
            css = in.readAllBytes();
        }
        ex.getResponseHeaders().set("Content-Type", "text/css; charset=utf-8");
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(200, -1);
            return;
        }
        ex.sendResponseHeaders(200, css.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(css);
        }
    }

    private static List<String> parts(String path) {
        List<String> out = new ArrayList<>();
        for (String p : path.split("/")) {
            if (!p.isEmpty()) {
                out.add(p);
            }
        }
        return out;
    }

    private static QueueId id(String s) {
        if (!QueueId.isValid(s)) {
            throw new IllegalArgumentException("'" + s + "' is not a queue id");
        }
        return new QueueId(s);
    }

    /** What an action did, from the redirect after it; only in the words {@link #post} uses, so a link cannot
     * make the console claim something else. */
    static String notice(String done) {
        return done != null && DONE.matcher(done).matches() ? done : null;
    }

    private static final java.util.regex.Pattern DONE = java.util.regex.Pattern.compile(
            "[0-9A-Za-z-]{1,64}: (moved from [a-z]+ to [a-z]+|due now|deleted from [a-z]+)");

    static String param(HttpExchange ex, String name) {
        return QueryString.param(ex.getRequestURI().getRawQuery(), name);
    }

    /** An {@code application/x-www-form-urlencoded} body of at most 64 KiB. */
    private static Map<String, String> form(HttpExchange ex) throws IOException {
        String body = new String(ex.getRequestBody().readNBytes(64 * 1024), StandardCharsets.UTF_8);
        Map<String, String> out = new LinkedHashMap<>();
        for (String pair : body.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                out.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    static String instant(Instant t) {
        return t == null ? "" : t.toString();
    }
}
