package dev.relay.server.console;

import dev.relay.core.queue.QueueAdmin;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.SpoolException;
import dev.relay.history.HistoryStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/** The overview's figures: the history's last hour and day, the queue's states, the upstreams' meters, TLS. */
final class ConsoleData {
    private static final List<String> KINDS = List.of("received", "delivered", "deferred", "failed");

    private final MeterRegistry registry;
    private final QueueAdmin queue;
    private final HistoryStore history;

    ConsoleData(MeterRegistry registry, QueueAdmin queue, HistoryStore history) {
        this.registry = registry;
        this.queue = queue;
        this.history = history;
    }

    Pages.Overview overview(Instant now) throws SQLException, SpoolException {
        List<Pages.Count> hour = List.of();
        List<Pages.Count> day = List.of();
        Map<String, HistoryStore.UpstreamError> errors = Map.of();
        if (history != null) {
            hour = kinds(history.eventsByKind(now.minus(Duration.ofHours(1))));
            day = kinds(history.eventsByKind(now.minus(Duration.ofDays(1))));
            errors = history.lastErrors(now.minus(Duration.ofDays(1)));
        }
        List<Pages.Count> states = new ArrayList<>();
        String oldest = "none";
        if (queue != null) {
            QueueAdmin.Stats stats = queue.stats();
            for (QueueState s : QueueState.values()) {
                states.add(new Pages.Count(s.key(), String.valueOf(stats.messages().getOrDefault(s, 0L))));
            }
            if (stats.oldest().isPresent()) {
                oldest = stats.oldest().get() + " (" + age(Duration.between(stats.oldest().get(), now)) + " ago)";
            }
        }
        return new Pages.Overview(history != null, hour, day, states, oldest, upstreams(errors), certificate(now));
    }

    private static List<Pages.Count> kinds(Map<String, Long> byKind) {
        List<Pages.Count> out = new ArrayList<>();
        for (String k : KINDS) {
            out.add(new Pages.Count(k, String.valueOf(byKind.getOrDefault(k, 0L))));
        }
        return out;
    }

    /** Every upstream the meters know: circuit, the history's last error, attempt latency and outcomes. */
    private List<Pages.Upstream> upstreams(Map<String, HistoryStore.UpstreamError> errors) {
        TreeSet<String> names = new TreeSet<>(errors.keySet());
        for (String meter : List.of("relay.upstream.circuit.state", "relay.upstream.attempt", "relay.upstream.outcomes")) {
            for (Meter m : registry.find(meter).meters()) {
                String u = m.getId().getTag("upstream");
                if (u != null) {
                    names.add(u);
                }
            }
        }
        List<Pages.Upstream> out = new ArrayList<>();
        for (String u : names) {
            Gauge circuit = registry.find("relay.upstream.circuit.state").tag("upstream", u).gauge();
            String state = circuit == null ? "closed" : switch ((int) circuit.value()) {
                case 1 -> "half-open";
                case 2 -> "open";
                default -> "closed";
            };
            HistoryStore.UpstreamError e = errors.get(u);
            String lastError = e == null ? "none in the last day" : e.at() + ": "
                    + (e.code() == null ? "" : e.code() + " ") + (e.enhanced() == null ? "" : e.enhanced() + " ")
                    + (e.text() == null ? "" : e.text());
            Timer t = registry.find("relay.upstream.attempt").tag("upstream", u).timer();
            String latency = t == null || t.count() == 0 ? "no attempts yet" : String.format(Locale.ROOT,
                    "mean %.0f ms, max %.0f ms over %d attempts", t.mean(TimeUnit.MILLISECONDS),
                    t.max(TimeUnit.MILLISECONDS), t.count());
            StringBuilder outcomes = new StringBuilder();
            for (String o : List.of("delivered", "deferred", "failed")) {
                Counter c = registry.find("relay.upstream.outcomes").tag("upstream", u).tag("outcome", o).counter();
                outcomes.append(outcomes.isEmpty() ? "" : ", ").append(o).append(' ')
                        .append(c == null ? 0 : (long) c.count());
            }
            out.add(new Pages.Upstream(u, state, lastError, latency, outcomes.toString()));
        }
        return out;
    }

    private String certificate(Instant now) {
        Gauge g = registry.find("relay.tls.certificate.expiry").gauge();
        if (g == null) {
            return "no TLS certificate";
        }
        long seconds = (long) g.value();
        Instant at = now.plusSeconds(seconds);
        return seconds < 0 ? "expired on " + at : "expires on " + at + " (in " + age(Duration.ofSeconds(seconds)) + ")";
    }

    /** 45s, 12m, 3h, 5d: the largest unit. */
    static String age(Duration d) {
        long s = Math.max(0, d.toSeconds());
        if (s < 120) {
            return s + "s";
        }
        if (s < 7200) {
            return s / 60 + "m";
        }
        if (s < 2 * 86400) {
            return s / 3600 + "h";
        }
        return s / 86400 + "d";
    }
}
