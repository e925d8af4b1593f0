package dev.relay.server.console;

import java.util.List;

/** What the console's templates show: plain values, already formatted; the templates escape every one. */
public final class Pages {
    private Pages() {}

    /** {@code s} encoded for a URL's query or path part (the templates' links). */
    public static String q(String s) {
        return java.net.URLEncoder.encode(s == null ? "" : s, java.nio.charset.StandardCharsets.UTF_8)
                .replace("+", "%20");
    }

    /** Every page: its title, the CSRF token its forms carry (null when logged out), the demo link, a notice. */
    public record Frame(String title, String csrf, boolean demo, boolean loginRequired, String notice) {
        /** The same frame with another title. */
        public Frame title(String newTitle) {
            return new Frame(newTitle, csrf, demo, loginRequired, notice);
        }
    }

    public record Count(String name, String value) {}

    public record Upstream(String name, String circuit, String lastError, String latency, String outcomes) {}

    public record Overview(boolean history, List<Count> lastHour, List<Count> lastDay, List<Count> queue,
                           String oldest, List<Upstream> upstreams, String certificate) {}

    public record QueueRow(String id, String state, String sender, String recipients, String age, int attempts,
                           String nextAttempt, String lastError, List<String> actions) {}

    public record QueueList(String state, String sender, String recipient, String minAge, List<QueueRow> rows,
                            String next) {}

    public record Confirm(String id, String action, String what) {}

    /** {@code replica}: the one that received the message (the shared history), else empty. */
    public record HistoryRow(String id, String received, String status, String sender, String recipients,
                             String messageId, String subject, String upstream, String replica) {}

    public record HistorySearch(String since, String sender, String recipient, String messageId, String upstream,
                                String status, List<HistoryRow> rows, String next, boolean available) {
        /** Whether a row names its replica: the replica column is shown then. */
        public boolean replicas() {
            return rows.stream().anyMatch(r -> !r.replica().isEmpty());
        }
    }

    public record Event(String at, String kind, String text) {}

    public record Timeline(HistoryRow message, List<Count> details, List<Event> events) {}

    public record DemoRow(String file, String received, String from, String to, String subject) {}

    public record DemoMessage(String file, List<Count> headers, String text, String raw) {}
}
