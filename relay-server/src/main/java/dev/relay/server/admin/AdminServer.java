package dev.relay.server.admin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.relay.config.HostPort;
import dev.relay.core.queue.QueueAdmin;
import dev.relay.server.console.Console;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.InstantSource;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The admin HTTP endpoint: {@code /metrics} (Prometheus text), {@code /healthz}, {@code /readyz}, the queue
 * API under {@code /api/queue} (see {@link QueueApi}), the history API under {@code /api/messages}
 * ({@link MessagesApi}) and the web console on every other path ({@link Console}).
 */
public final class AdminServer implements AutoCloseable {
    private final HttpServer http;
    private final Console console;
    private volatile Supplier<Map<String, String>> details = Map::of;

    /**
     * @param readiness the failed readiness checks by name, with their reasons; empty when ready
     */
    public AdminServer(HostPort bind, PrometheusMeterRegistry registry, Supplier<Map<String, String>> readiness)
            throws IOException {
        this(bind, registry, readiness, null, null);
    }

    /**
     * @param queue the queue API's backing ({@code /api/queue}), or null for none
     * @param token the bearer token the queue API requires, or null (loopback binds only)
     */
    public AdminServer(HostPort bind, PrometheusMeterRegistry registry, Supplier<Map<String, String>> readiness,
                       QueueAdmin queue, String token) throws IOException {
        this(bind, registry, readiness, queue, token, null);
    }

    /**
     * @param history the message history ({@code /api/messages}, and where operator actions are recorded), or null
     */
    public AdminServer(HostPort bind, PrometheusMeterRegistry registry, Supplier<Map<String, String>> readiness,
                       QueueAdmin queue, String token, dev.relay.history.HistoryRecorder history) throws IOException {
        this(bind, registry, readiness, queue, token, history, null);
    }

    /** @param handoffs the hand-off by hand ({@code POST /api/queue/handoff}), or null for none */
    public AdminServer(HostPort bind, PrometheusMeterRegistry registry, Supplier<Map<String, String>> readiness,
                       QueueAdmin queue, String token, dev.relay.history.HistoryRecorder history,
                       dev.relay.server.admin.action.QueueActions.Handoffs handoffs) throws IOException {
        try {
            http = HttpServer.create(new InetSocketAddress(bind.host(), bind.port()), 64);
        } catch (IOException e) {
            throw new IOException("cannot listen on " + bind + " (admin.bind): " + e.getMessage(), e);
        }
        http.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        java.util.List<com.sun.net.httpserver.HttpContext> contexts = new java.util.ArrayList<>();
        contexts.add(http.createContext("/metrics", ex -> respond(ex, 200, "text/plain; version=0.0.4; charset=utf-8",
                registry.scrape())));
        if (queue != null && queueApiServed(bind, token)) {
            contexts.add(http.createContext(QueueApi.PREFIX, new QueueApi(queue, token, InstantSource.system(),
                    history == null ? QueueApi.Actions.NONE : history::action, handoffs)));
        } else if (queue != null) { // off loopback without a token: deleting mail must not be open to the network
            contexts.add(http.createContext(QueueApi.PREFIX, ex -> respond(ex, 403, "application/json",
                    "{\"error\":\"the queue API is off: admin.bind is not a loopback address and admin.token is "
                            + "not set\"}\n")));
        }
        if (history != null && queueApiServed(bind, token)) { // message addresses: as closed as the queue API
            contexts.add(http.createContext(MessagesApi.PREFIX, new MessagesApi(history.store(), token,
                    InstantSource.system())));
        } else if (history != null) {
            contexts.add(http.createContext(MessagesApi.PREFIX, ex -> respond(ex, 403, "application/json",
                    "{\"error\":\"the history API is off: admin.bind is not a loopback address and admin.token is "
                            + "not set\"}\n")));
        }
        // the console: as closed as the APIs it shows (loopback, or anywhere behind the token's login form)
        console = new Console(registry, queue, history, token, InstantSource.system());
        if (queueApiServed(bind, token)) {
            contexts.add(http.createContext("/", console));
        } else {
            contexts.add(http.createContext("/", ex -> respond(ex, 403, "text/plain; charset=utf-8",
                    "the console is off: admin.bind is not a loopback address and admin.token is not set\n")));
        }
        contexts.add(http.createContext("/healthz", ex -> respond(ex, 200, "text/plain; charset=utf-8", "ok\n")));
        contexts.add(http.createContext("/readyz", ex -> {
            Map<String, String> failing = readiness.get();
            StringBuilder json = new StringBuilder("{\"ready\":").append(failing.isEmpty()).append(",\"failing\":");
            appendObject(json, failing);
            Map<String, String> shown = details.get();
            if (!shown.isEmpty()) { // what readiness does not depend on but an operator should see (the cluster)
                appendObject(json.append(",\"details\":"), shown);
            }
            json.append("}\n");
            respond(ex, failing.isEmpty() ? 200 : 503, "application/json", json.toString());
        }));
        for (com.sun.net.httpserver.HttpContext ctx : contexts) {
            ctx.getFilters().add(new Guard(bind.isLoopback()));
        }
    }

    /**
     * Against DNS rebinding and cross-site requests from a web page in a browser on this host. On a loopback bind,
     * every request must name a loopback host in {@code Host} ({@code localhost}, {@code 127.x.x.x},
     * {@code [::1]}, any port): a page of {@code evil.example} that rebinds its name to 127.0.0.1 still sends
     * {@code Host: evil.example}. Anywhere, a request that changes something (any method but GET, HEAD and
     * OPTIONS) that carries an {@code Origin} must come from the same origin as its {@code Host} ({@code relay
     * queue} and curl send no Origin; a browser always does on such a request). Refused with 403 and a JSON error.
     */
    static final class Guard extends com.sun.net.httpserver.Filter {
        private final boolean loopback;

        Guard(boolean loopback) {
            this.loopback = loopback;
        }

        @Override
        public void doFilter(HttpExchange ex, Chain chain) throws IOException {
            String why = refusal(ex.getRequestMethod(), ex.getRequestHeaders().getFirst("Host"),
                    ex.getRequestHeaders().getFirst("Origin"), loopback);
            if (why != null) {
                respond(ex, 403, "application/json", "{\"error\":\"" + escape(why) + "\"}\n");
                return;
            }
            chain.doFilter(ex);
        }

        @Override
        public String description() {
            return "Host and Origin check";
        }
    }

    /** Why the request is refused (see {@link Guard}), or null if it may go on. */
    static String refusal(String method, String host, String origin, boolean loopback) {
        if (loopback && (host == null || !loopbackHost(hostName(host)))) {
            return "Host '" + (host == null ? "" : host) + "' is not this relay's admin endpoint: on a loopback "
                    + "admin.bind use http://127.0.0.1, http://[::1] or http://localhost (DNS rebinding guard)";
        }
        boolean changes = !(method.equals("GET") || method.equals("HEAD") || method.equals("OPTIONS"));
        if (changes && origin != null) {
            String o = origin.trim().toLowerCase(java.util.Locale.ROOT);
            int scheme = o.indexOf("://");
            String originHost = scheme < 0 ? null : o.substring(scheme + 3);
            if (originHost == null || host == null || !originHost.equals(host.trim().toLowerCase(java.util.Locale.ROOT))) {
                return "cross-origin request refused: Origin '" + origin + "' is not this admin endpoint; "
                        + "use relay queue or curl (they send no Origin)";
            }
        }
        return null;
    }

    /** The host of a Host header value, without the port or IPv6 brackets, lower-cased. */
    static String hostName(String host) {
        String h = host.trim().toLowerCase(java.util.Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return end < 0 ? "" : h.substring(1, end);
        }
        int colon = h.indexOf(':');
        if (colon >= 0 && h.indexOf(':', colon + 1) < 0) {
            h = h.substring(0, colon);
        }
        return h;
    }

    /** {@code localhost}, an IPv4 literal in 127.0.0.0/8, or {@code ::1}; never a DNS look-up. */
    static boolean loopbackHost(String name) {
        if (name.equals("localhost") || name.equals("::1") || name.equals("0:0:0:0:0:0:0:1")) {
            return true;
        }
        String[] octets = name.split("\\.", -1);
        if (octets.length != 4 || !octets[0].equals("127")) {
            return false;
        }
        for (String o : octets) {
            if (!o.matches("[0-9]{1,3}") || Integer.parseInt(o) > 255) {
                return false;
            }
        }
        return true;
    }

    /** The queue API can delete mail: it is served on loopback, or anywhere with a bearer token. */
    static boolean queueApiServed(HostPort bind, String token) {
        return token != null || bind.isLoopback();
    }

    /** The web console, to show the demo capture sink's outbox. */
    public Console console() {
        return console;
    }

    /** Details {@code /readyz} shows beside its verdict, never failing it (e.g. the cluster database's state). */
    public void details(Supplier<Map<String, String>> details) {
        this.details = details;
    }

    private static void appendObject(StringBuilder json, Map<String, String> entries) {
        json.append('{');
        String sep = "";
        for (Map.Entry<String, String> e : entries.entrySet()) {
            json.append(sep).append('"').append(escape(e.getKey())).append("\":\"").append(escape(e.getValue()))
                    .append('"');
            sep = ",";
        }
        json.append('}');
    }

    public void start() {
        http.start();
    }

    public int port() {
        return http.getAddress().getPort();
    }

    /** Sends {@code body} (none for HEAD) and ends the exchange. */
    static void respond(HttpExchange ex, int status, String type, String body) throws IOException {
        try (ex) {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", type);
            if (ex.getRequestMethod().equals("HEAD")) {
                ex.sendResponseHeaders(status, -1);
                return;
            }
            ex.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ");
    }

    @Override
    public void close() {
        http.stop(0);
    }
}
