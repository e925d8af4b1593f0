package dev.relay.server.admin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.relay.config.HostPort;
import dev.relay.core.queue.QueueAdmin;
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
 * The admin HTTP endpoint: {@code /metrics} (Prometheus text), {@code /healthz}, {@code /readyz}, and the queue
 * API under {@code /api/queue} (see {@link QueueApi}).
 */
public final class AdminServer implements AutoCloseable {
    private final HttpServer http;

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
        try {
            http = HttpServer.create(new InetSocketAddress(bind.host(), bind.port()), 64);
        } catch (IOException e) {
            throw new IOException("cannot listen on " + bind + " (admin.bind): " + e.getMessage(), e);
        }
        http.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        http.createContext("/metrics", ex -> respond(ex, 200, "text/plain; version=0.0.4; charset=utf-8",
                registry.scrape()));
        if (queue != null && queueApiServed(bind, token)) {
            http.createContext(QueueApi.PREFIX, new QueueApi(queue, token, InstantSource.system()));
        } else if (queue != null) { // off loopback without a token: deleting mail must not be open to the network
            http.createContext(QueueApi.PREFIX, ex -> respond(ex, 403, "application/json",
                    "{\"error\":\"the queue API is off: admin.bind is not a loopback address and admin.token is "
                            + "not set\"}\n"));
        }
        http.createContext("/healthz", ex -> respond(ex, 200, "text/plain; charset=utf-8", "ok\n"));
        http.createContext("/readyz", ex -> {
            Map<String, String> failing = readiness.get();
            StringBuilder json = new StringBuilder("{\"ready\":").append(failing.isEmpty()).append(",\"failing\":{");
            String sep = "";
            for (Map.Entry<String, String> e : failing.entrySet()) {
                json.append(sep).append('"').append(escape(e.getKey())).append("\":\"")
                        .append(escape(e.getValue())).append('"');
                sep = ",";
            }
            json.append("}}\n");
            respond(ex, failing.isEmpty() ? 200 : 503, "application/json", json.toString());
        });
    }

    /** The queue API can delete mail: it is served on loopback, or anywhere with a bearer token. */
    static boolean queueApiServed(HostPort bind, String token) {
        return token != null || bind.isLoopback();
    }

    public void start() {
        http.start();
    }

    public int port() {
        return http.getAddress().getPort();
    }

    private static void respond(HttpExchange ex, int status, String type, String body) throws IOException {
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
