package dev.relay.core.routing;

import dev.relay.config.RouteConfig;
import dev.relay.core.model.Envelope;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;

/**
 * The configured routes in order, and the default route (every upstream in configuration order) for a message
 * that none of them takes.
 */
final class RouteTable {
    static final String DEFAULT = "default";

    private final List<Route> routes;
    private final Route fallback;

    RouteTable(List<Route> routes, List<String> upstreams) {
        this.routes = List.copyOf(routes);
        this.fallback = new Route(DEFAULT, List.of("*"), java.util.Set.of(), upstreams, Route.Rewrite.NONE);
        for (Route r : routes) {
            if (!new HashSet<>(upstreams).containsAll(r.upstreams())) {
                throw new IllegalArgumentException("route " + r.name() + " names an unknown upstream: "
                        + r.upstreams() + " (known: " + upstreams + ")");
            }
        }
    }

    static RouteTable of(List<RouteConfig> configs, List<String> upstreams) {
        List<Route> routes = new ArrayList<>();
        for (RouteConfig c : configs) {
            routes.add(new Route(c.name(), c.senders(), new HashSet<>(c.users()), c.upstreams(),
                    new Route.Rewrite(c.rewriteSender(), c.rewriteFrom(), c.replyToOriginal(),
                            new HashSet<>(c.stripHeaders()))));
        }
        return new RouteTable(routes, upstreams);
    }

    /** The first route that takes the message, else the default route. */
    Route select(Envelope envelope) {
        for (Route r : routes) {
            if (r.matches(envelope)) {
                return r;
            }
        }
        return fallback;
    }
}
