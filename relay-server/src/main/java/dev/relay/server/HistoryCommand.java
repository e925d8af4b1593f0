package dev.relay.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code relay history ...}: searches the message history of a running relay through its admin API
 * ({@code /api/messages}), newest first. Exit status 0 (also when nothing matched), 2 when the relay could not be
 * reached or the request was invalid.
 */
@Command(name = "history", mixinStandardHelpOptions = true,
        description = {"Searches the message history of a running relay (received, delivered, deferred, failed, "
                + "bounced), newest first, through its admin API."},
        footer = {"", "One message's timeline: relay trace ID. The admin token (admin.token): --token-file FILE or "
                + "the environment variable RELAY_ADMIN_TOKEN."})
final class HistoryCommand extends AdminQuery {
    /** The search's query parameters, each a filter option's name without its dashes, set by the options below. */
    private final Map<String, String> filters = new LinkedHashMap<>();

    @Option(names = "--since", paramLabel = "AGE|TIME",
            description = "Received at most this long ago (30m, 2h, 7d) or since this ISO-8601 time.")
    void since(String value) {
        filters.put("since", value);
    }

    @Option(names = "--until", paramLabel = "AGE|TIME", description = "Received before this (an age or a time).")
    void until(String value) {
        filters.put("until", value);
    }

    @Option(names = "--sender", paramLabel = "S", description = "The envelope sender: an address, or a part of one "
            + "(a domain); <> for bounces.")
    void sender(String value) {
        filters.put("sender", value);
    }

    @Option(names = "--recipient", paramLabel = "R", description = "A recipient: an address, or a part of one.")
    void recipient(String value) {
        filters.put("recipient", value);
    }

    @Option(names = "--message-id", paramLabel = "ID", description = "The Message-ID header (with or without <>).")
    void messageId(String value) {
        filters.put("message-id", value);
    }

    @Option(names = "--upstream", paramLabel = "U", description = "Tried through this upstream (its name).")
    void upstream(String value) {
        filters.put("upstream", value);
    }

    @Option(names = "--status", paramLabel = "STATUS",
            description = "delivered, deferred, failed (also expired), bounced, expired, queued, held or deleted.")
    void status(String value) {
        filters.put("status", value);
    }

    @Option(names = "--limit", paramLabel = "N", defaultValue = "100",
            description = "At most N messages (default: ${DEFAULT-VALUE}).")
    int limit;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (limit < 1) {
            err.println("relay history: --limit must be at least 1");
            err.flush();
            return 2;
        }
        List<String> q = new ArrayList<>();
        filters.forEach((key, value) -> q.add(key + "=" + AdminClient.enc(value)));
        ArrayNode all = AdminClient.Json.MAPPER.createArrayNode();
        String next = null;
        do {
            int page = Math.min(1000, limit - all.size());
            String query = String.join("&", q) + (q.isEmpty() ? "" : "&") + "limit=" + page
                    + (next == null ? "" : "&after=" + AdminClient.enc(next));
            AdminClient.Answer a = client.get("relay history", "/api/messages?" + query, err);
            if (a == null || a.status() != 200) {
                return 2;
            }
            a.body().get("messages").forEach(all::add);
            next = AdminClient.text(a.body(), "next");
        } while (next != null && all.size() < limit);
        if (json) {
            ObjectNode body = AdminClient.Json.MAPPER.createObjectNode();
            body.set("messages", all);
            body.put("count", all.size());
            out.println(body.toPrettyString());
        } else {
            // the shared history (cluster.database): which replica received each message
            boolean replicas = false;
            for (JsonNode m : all) {
                replicas |= AdminClient.text(m, "replica") != null;
            }
            out.printf("%-24s %-19s " + (replicas ? "%-12s " : "%s") + "%-9s %-28s %-28s %s%n", "RECEIVED", "ID",
                    replicas ? "REPLICA" : "", "STATUS", "SENDER", "RECIPIENTS", "UPSTREAM / ID");
            for (JsonNode m : all) {
                List<String> rcpts = new ArrayList<>();
                m.get("recipients").forEach(r -> rcpts.add(r.asText()));
                String up = AdminClient.text(m, "upstream");
                String upId = AdminClient.text(m, "upstream_id");
                String replica = AdminClient.text(m, "replica");
                out.printf("%-24s %-19s " + (replicas ? "%-12s " : "%s") + "%-9s %-28s %-28s %s%n",
                        m.get("received_at").asText(), m.get("id").asText(),
                        replicas ? (replica == null ? "-" : replica) : "", m.get("status").asText(), "<" + m.get("sender").asText() + ">", String.join(",", rcpts),
                        (up == null ? "-" : up) + (upId == null ? "" : " " + upId));
            }
            out.println(all.size() + " messages" + (next != null ? " (more: --limit)" : ""));
        }
        out.flush();
        return 0;
    }
}
