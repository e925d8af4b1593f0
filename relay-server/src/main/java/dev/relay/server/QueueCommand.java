package dev.relay.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code relay queue ...}: lists, shows and steers the queue of a running relay through its admin API
 * ({@code /api/queue}). Exit status 0 on success, 1 when the relay refused the action (no such message, wrong
 * state), 2 when the relay could not be reached or the request was invalid.
 */
@Command(name = "queue", mixinStandardHelpOptions = true,
        description = {"Lists, shows and steers the queue of a running relay through its admin API."},
        footer = {"", "The admin token (admin.token): give it with --token-file FILE or the environment variable "
                + "RELAY_ADMIN_TOKEN, not with --token, which every user of the host can read in the process list."},
        subcommands = {QueueCommand.ListMessages.class, QueueCommand.Show.class, QueueCommand.Retry.class,
                QueueCommand.Hold.class, QueueCommand.Release.class, QueueCommand.Delete.class,
                QueueCommand.Requeue.class, QueueHandoffCommand.class})
final class QueueCommand implements Runnable {
    /** Made at first use: picocli makes every command object to build the command tree, and Jackson's set-up (~50 ms) is for `relay queue` alone. */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    @Spec
    CommandSpec spec;

    @Option(names = "--admin", paramLabel = "URL", defaultValue = "http://127.0.0.1:9090",
            description = "The relay's admin endpoint (default: ${DEFAULT-VALUE}).")
    String admin;

    @Option(names = "--token", paramLabel = "TOKEN",
            description = "Bearer token (admin.token). Avoid it: a command-line argument is visible to every user "
                    + "in the process list (ps); use --token-file or $RELAY_ADMIN_TOKEN instead. A warning is "
                    + "printed on stderr when it is used.")
    String token;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "A file holding the bearer token (preferred; else $RELAY_ADMIN_TOKEN is used).")
    Path tokenFile;

    static final String TOKEN_WARNING = "relay queue: warning: --token puts the admin token in the process list, "
            + "visible to every user of this host; use --token-file FILE or the environment variable "
            + "RELAY_ADMIN_TOKEN instead";

    private boolean warned;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    private String token(PrintWriter err) throws IOException {
        if (token != null) {
            if (!warned) {
                warned = true;
                err.println(TOKEN_WARNING);
                err.flush();
            }
            return token;
        }
        if (tokenFile != null) {
            return Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
        }
        String env = System.getenv("RELAY_ADMIN_TOKEN");
        return env == null || env.isEmpty() ? null : env;
    }

    /** Sends one request and prints the answer; returns the exit status. */
    int call(CommandSpec sub, String method, String path, Printer printer) {
        return call(sub, method, path, null, Duration.ofSeconds(30), printer);
    }

    /** Sends one request with a JSON {@code body} (null: none), waiting up to {@code timeout} for the answer. */
    int call(CommandSpec sub, String method, String path, String body, Duration timeout, Printer printer) {
        PrintWriter out = sub.commandLine().getOut();
        PrintWriter err = sub.commandLine().getErr();
        try {
            String base = admin.endsWith("/") ? admin.substring(0, admin.length() - 1) : admin;
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/api/queue" + path)).timeout(timeout)
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
            if (body != null) {
                b.header("Content-Type", "application/json");
            }
            String t = token(err);
            if (t != null) {
                b.header("Authorization", "Bearer " + t);
            }
            HttpResponse<String> r;
            try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
                r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            }
            JsonNode answer = r.body().isEmpty() ? Json.MAPPER.createObjectNode() : Json.MAPPER.readTree(r.body());
            if (r.statusCode() == 200) {
                printer.print(answer, out);
                out.flush();
                return 0;
            }
            err.println("relay queue: " + (answer.has("error") ? answer.get("error").asText()
                    : "HTTP " + r.statusCode()));
            err.flush();
            return r.statusCode() == 404 || r.statusCode() == 409 ? 1 : 2;
        } catch (ConnectException e) {
            err.println("relay queue: cannot connect to " + admin + ": is the relay running? (--admin URL)");
        } catch (IOException | IllegalArgumentException e) {
            err.println("relay queue: " + admin + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        err.flush();
        return 2;
    }

    interface Printer {
        void print(JsonNode body, PrintWriter out);
    }

    static final Printer MESSAGE = (body, out) -> out.println(body.get("message").asText());

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** A subcommand: it calls the API through its parent, which holds the endpoint and the token options. */
    abstract static class Sub implements Callable<Integer> {
        @ParentCommand
        QueueCommand parent;
        @Spec
        CommandSpec spec;
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists queued messages.")
    static final class ListMessages extends Sub {

        @Option(names = "--state", paramLabel = "STATE", split = ",",
                description = "incoming, active, deferred, hold, failed, corrupt (default: all).")
        List<String> states = new ArrayList<>();

        @Option(names = "--sender", paramLabel = "TEXT", description = "Sender contains TEXT.")
        String sender;

        @Option(names = "--recipient", paramLabel = "TEXT", description = "A recipient contains TEXT.")
        String recipient;

        @Option(names = "--min-age", paramLabel = "DURATION", description = "At least this old (30s, 10m, 2h, 1d).")
        String minAge;

        @Option(names = "--json", description = "Print the API's JSON (every page in one list).")
        boolean json;

        @Option(names = "--page-size", paramLabel = "N", defaultValue = "1000",
                description = "Messages per request to the admin API, 1 to 1000 (default: ${DEFAULT-VALUE}); "
                        + "every page is listed.")
        int pageSize;

        @Override
        public Integer call() {
            List<String> q = new ArrayList<>();
            if (!states.isEmpty()) {
                q.add("state=" + enc(String.join(",", states)));
            }
            if (sender != null) {
                q.add("sender=" + enc(sender));
            }
            if (recipient != null) {
                q.add("recipient=" + enc(recipient));
            }
            if (minAge != null) {
                q.add("min-age=" + enc(minAge));
            }
            q.add("limit=" + pageSize);
            com.fasterxml.jackson.databind.node.ArrayNode all = Json.MAPPER.createArrayNode();
            String[] next = {null};
            int[] total = {0};
            do {
                String query = "?" + String.join("&", q) + (next[0] == null ? "" : "&after=" + enc(next[0]));
                boolean first = next[0] == null;
                int status = parent.call(spec, "GET", query, (body, out) -> {
                    next[0] = body.hasNonNull("next") ? body.get("next").asText() : null;
                    total[0] += body.get("messages").size();
                    if (json) {
                        body.get("messages").forEach(all::add);
                        return;
                    }
                    if (first) {
                        out.printf("%-19s %-8s %8s %9s %3s  %-30s %s%n", "ID", "STATE", "AGE", "SIZE", "TRY",
                                "SENDER", "RECIPIENTS / LAST ERROR");
                    }
                    printRows(body, out);
                });
                if (status != 0) {
                    return status;
                }
            } while (next[0] != null);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                com.fasterxml.jackson.databind.node.ObjectNode body = Json.MAPPER.createObjectNode();
                body.set("messages", all);
                body.put("count", total[0]);
                out.println(body.toPrettyString());
            } else {
                out.println(total[0] + " messages");
            }
            out.flush();
            return 0;
        }

        private static void printRows(JsonNode body, PrintWriter out) {
            for (JsonNode m : body.get("messages")) {
                List<String> rcpts = new ArrayList<>();
                m.get("recipients").forEach(r -> rcpts.add(r.asText()));
                String sender = m.get("sender").isNull() ? "?" : "<" + m.get("sender").asText() + ">";
                out.printf("%-19s %-8s %8s %9d %3d  %-30s %s%n", m.get("id").asText(), m.get("state").asText(),
                        age(m.get("age_seconds").asLong()), m.get("size").asLong(), m.get("attempts").asInt(),
                        sender, String.join(", ", rcpts));
                if (!m.get("last_error").asText().isEmpty()) {
                    out.printf("%66s %s%n", "", m.get("last_error").asText());
                }
            }
        }

        private static String age(long s) {
            return s >= 86_400 ? s / 86_400 + "d" : s >= 3600 ? s / 3600 + "h" : s >= 60 ? s / 60 + "m" : s + "s";
        }
    }

    /** The commands that act on one message, named by its ID: {@code /api/queue/ID}. */
    abstract static class OnOne extends Sub {
        @Parameters(paramLabel = "ID")
        String id;

        String path() {
            return "/" + enc(id);
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = "Shows one message: envelope, state, attempts, last error, size.")
    static final class Show extends OnOne {
        @Override
        public Integer call() {
            return parent.call(spec, "GET", path(), (body, out) -> out.println(body.toPrettyString()));
        }
    }

    @Command(name = "retry", mixinStandardHelpOptions = true,
            description = "Tries a deferred message now, or every deferred message with --all.")
    static final class Retry extends Sub {
        @Parameters(paramLabel = "ID", arity = "0..1")
        String id;
        @Option(names = "--all", description = "Every deferred message.")
        boolean all;

        @Override
        public Integer call() {
            if (all == (id != null)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "give either an ID or --all");
            }
            return all ? parent.call(spec, "POST", "/retry-all", MESSAGE)
                    : parent.call(spec, "POST", "/" + enc(id) + "/retry", MESSAGE);
        }
    }

    /** The commands that act on one message by POST /api/queue/ID/ACTION, ACTION being the command's name. */
    abstract static class Action extends OnOne {
        @Override
        public Integer call() {
            return parent.call(spec, "POST", path() + "/" + spec.name(), MESSAGE);
        }
    }

    @Command(name = "hold", mixinStandardHelpOptions = true,
            description = "Puts an incoming or deferred message on hold: never delivered until released.")
    static final class Hold extends Action {
    }

    @Command(name = "release", mixinStandardHelpOptions = true,
            description = "Releases a held message: back to incoming, delivered now.")
    static final class Release extends Action {
    }

    @Command(name = "requeue", mixinStandardHelpOptions = true,
            description = "Puts a failed message back to incoming for its failed recipients.")
    static final class Requeue extends Action {
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Deletes a message (envelope and body) from any state but active.")
    static final class Delete extends OnOne {
        @Override
        public Integer call() {
            return parent.call(spec, "DELETE", path(), MESSAGE);
        }
    }
}
