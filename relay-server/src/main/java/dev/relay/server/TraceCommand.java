package dev.relay.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code relay trace ID}: the timeline of one message from the history of a running relay, one line per event with
 * the upstream's replies. The ID is the queue id, the {@code Message-ID} or the upstream's id. Exit status 0 found,
 * 1 not in the history, 2 when the relay could not be reached.
 */
@Command(name = "trace", mixinStandardHelpOptions = true,
        description = {"Shows the timeline of a message (queue id, Message-ID or the upstream's id) from the history "
                + "of a running relay: one line per event, with the upstream's replies."})
final class TraceCommand extends AdminQuery {
    @Parameters(paramLabel = "ID", description = "Queue id, Message-ID or the upstream's id for the message.")
    String id;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        AdminClient.Answer a = client.get("relay trace", "/api/messages/" + AdminClient.enc(id).replace("+", "%20"),
                spec.commandLine().getErr());
        if (a == null || a.status() != 200) {
            return AdminClient.exit(a);
        }
        if (json) {
            out.println(a.body().toPrettyString());
        } else {
            boolean first = true;
            for (JsonNode m : a.body().get("messages")) {
                if (!first) {
                    out.println();
                }
                first = false;
                print(m, out);
            }
        }
        out.flush();
        return 0;
    }

    static void print(JsonNode m, PrintWriter out) {
        List<String> rcpts = new ArrayList<>();
        m.get("recipients").forEach(r -> rcpts.add("<" + r.asText() + ">"));
        String messageId = AdminClient.text(m, "message_id");
        String subject = AdminClient.text(m, "subject");
        String replica = AdminClient.text(m, "replica");
        out.println("message " + m.get("id").asText() + (messageId == null ? "" : " " + messageId) + ": "
                + m.get("status").asText() + ", from <" + m.get("sender").asText() + "> to " + String.join(",", rcpts)
                + ", " + m.get("size").asLong() + " bytes" + (subject == null ? "" : ", subject \"" + subject + "\"")
                + (replica == null ? "" : ", replica " + replica));
        for (JsonNode e : m.get("events")) {
            // the shared history: an event another replica wrote than the one that received the message
            String by = AdminClient.text(e, "replica");
            out.printf("%-24s %-9s %s%n", e.get("at").asText(), e.get("kind").asText(), line(m, e)
                    + (by == null || by.equals(replica) ? "" : " (replica " + by + ")"));
        }
    }

    private static String line(JsonNode m, JsonNode e) {
        String kind = e.get("kind").asText();
        StringBuilder b = new StringBuilder();
        switch (kind) {
            case "received" -> {
                String listener = AdminClient.text(m, "listener");
                String user = AdminClient.text(m, "user");
                String tls = AdminClient.text(m, "tls_protocol");
                if (AdminClient.text(e, "detail") != null) {
                    b.append("a bounce (DSN) made by the relay");
                } else {
                    b.append("on ").append(listener == null ? "?" : listener).append(" from ")
                            .append(orUnknown(AdminClient.text(m, "client"))).append(user != null ? " user " + user
                                    : m.path("trusted_network").asBoolean() ? " trusted network" : "")
                            .append(tls == null ? " without TLS" : " " + tls + " " + AdminClient.text(m, "tls_cipher"));
                }
            }
            case "attempt" -> {
                b.append('<').append(AdminClient.text(e, "recipient")).append("> via ")
                        .append(AdminClient.text(e, "upstream"));
                String host = AdminClient.text(e, "host");
                if (host != null) {
                    b.append(" (").append(host).append(')');
                }
                if (e.hasNonNull("duration_ms")) {
                    b.append(' ').append(e.get("duration_ms").asLong()).append("ms");
                }
                b.append(": ");
                if (e.hasNonNull("code")) {
                    b.append(e.get("code").asInt()).append(' ');
                }
                if (AdminClient.text(e, "enhanced_code") != null) {
                    b.append(AdminClient.text(e, "enhanced_code")).append(' ');
                }
                b.append(orUnknown(AdminClient.text(e, "text")));
                if (AdminClient.text(e, "upstream_id") != null) {
                    b.append(" [upstream id ").append(AdminClient.text(e, "upstream_id")).append(']');
                }
            }
            default -> {
                String detail = AdminClient.text(e, "detail");
                String text = AdminClient.text(e, "text");
                b.append(detail == null ? "" : detail);
                if (text != null) {
                    b.append(b.isEmpty() ? "" : " ").append(text);
                }
                if (AdminClient.text(e, "next_attempt") != null) {
                    b.append(", next attempt ").append(AdminClient.text(e, "next_attempt"));
                }
            }
        }
        return b.toString();
    }

    private static String orUnknown(String s) {
        return s == null ? "?" : s;
    }
}
