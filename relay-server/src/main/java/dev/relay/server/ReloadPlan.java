package dev.relay.server;

import dev.relay.config.LimitsConfig;
import dev.relay.config.RelayConfig;
import dev.relay.config.RouteConfig;
import dev.relay.config.UpstreamConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What a configuration reload changes in a running relay: the parts that apply live ({@code limits} except the
 * two that size the listeners, {@code routes}, {@code upstreams}), and the keys that changed but need a restart. A
 * pure function of the running and the new configuration.
 *
 * @param limits       the limits to apply now, or null if unchanged
 * @param routes       the routes to apply now, or null if unchanged
 * @param upstreams    the upstreams to deliver through from now on, or null if unchanged; when set, the routing
 *                     engine is rebuilt with them and {@code routes} (or the running routes when null)
 * @param needsRestart the keys whose new values apply only at the next start, in configuration order
 */
record ReloadPlan(LimitsConfig limits, List<RouteConfig> routes, List<UpstreamConfig> upstreams,
                  List<String> needsRestart) {
    ReloadPlan {
        needsRestart = List.copyOf(needsRestart);
    }

    /**
     * @param running the configuration in force
     * @param next    the configuration just loaded and validated
     */
    static ReloadPlan between(RelayConfig running, RelayConfig next) {
        List<String> restart = new ArrayList<>();
        differs(restart, "hostname", running.hostname(), next.hostname());
        differs(restart, "listeners", running.listeners(), next.listeners());
        differs(restart, "tls", running.tls(), next.tls());
        differs(restart, "auth", running.auth(), next.auth());
        differs(restart, "spool", running.spool(), next.spool());
        differs(restart, "queue", running.queue(), next.queue());
        differs(restart, "admin", running.admin(), next.admin());
        differs(restart, "history", running.history(), next.history());
        differs(restart, "handoff", running.handoff(), next.handoff());
        differs(restart, "cluster", running.cluster(), next.cluster());

        // validated together: new routes may name new upstreams, which then come with them
        // a DKIM key file may have been replaced (a key rotation) with the YAML unchanged: routes that sign are
        // applied at every reload, which reads their keys again
        boolean signs = next.routes().stream().anyMatch(r -> r.dkim() != null);
        List<RouteConfig> routes = running.routes().equals(next.routes()) && !signs ? null : next.routes();
        List<UpstreamConfig> upstreams = running.upstreams().equals(next.upstreams()) ? null : next.upstreams();

        LimitsConfig was = running.limits();
        LimitsConfig now = next.limits();
        differs(restart, "limits.max-connections", was.maxConnections(), now.maxConnections());
        differs(restart, "limits.idle-timeout", was.idleTimeout(), now.idleTimeout());
        // the listeners keep the two values they were built with; no client can have more than all of them
        LimitsConfig live = new LimitsConfig(now.maxMessageSize(), now.maxRecipients(), was.maxConnections(),
                Math.min(now.maxConnectionsPerClient(), was.maxConnections()), was.idleTimeout(), now.maxMessagesPerConnection(),
                now.authMaxFailures(), now.authLockout(), now.authFailureDelay(), now.dataTimeout(),
                now.maxCommandsBeforeMail(), now.userMessagesPerMinute(), now.userRecipientsPerDay());

        differs(restart, "readiness", running.readiness(), next.readiness());
        differs(restart, "logging", running.logging(), next.logging());
        return new ReloadPlan(live.equals(was) ? null : live, routes, upstreams, restart);
    }

    /** True if nothing applies now (the restart-only keys may still have changed). */
    boolean appliesNothing() {
        return limits == null && routes == null && upstreams == null;
    }

    /** {@code running} with what this plan applies. */
    RelayConfig applyTo(RelayConfig running) {
        if (appliesNothing()) {
            return running;
        }
        return new RelayConfig(running.hostname(), running.listeners(), running.tls(), running.auth(),
                running.spool(), running.queue(), upstreams == null ? running.upstreams() : upstreams, running.admin(),
                routes == null ? running.routes() : routes, limits == null ? running.limits() : limits,
                running.readiness(), running.logging(), running.history(), running.handoff(),
                running.cluster());
    }

    /** What changes now, for the log: e.g. {@code limits, routes (2)}. */
    String applied() {
        List<String> parts = new ArrayList<>();
        if (limits != null) {
            parts.add("limits");
        }
        if (routes != null) {
            parts.add("routes (" + routes.size() + ")");
        }
        if (upstreams != null) {
            parts.add("upstreams " + upstreams.stream().map(UpstreamConfig::name).toList());
        }
        return String.join(", ", parts);
    }

    private static void differs(List<String> restart, String key, Object was, Object now) {
        if (!Objects.equals(was, now)) {
            restart.add(key);
        }
    }
}
