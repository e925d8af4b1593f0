package dev.relay.core.routing;

import dev.relay.config.RouteConfig;
import dev.relay.core.dkim.DkimSigner;
import dev.relay.core.model.Envelope;
import java.io.IOException;
import java.time.InstantSource;
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

    /** The routes of {@code configs}, signing with the system clock. */
    static RouteTable of(List<RouteConfig> configs, List<String> upstreams) {
        return of(configs, upstreams, InstantSource.system());
    }

    /**
     * The routes of {@code configs}; each DKIM key is read now (so a reload reads the key files again).
     *
     * @throws IllegalArgumentException if a route names an unknown upstream or its DKIM key cannot be used
     */
    static RouteTable of(List<RouteConfig> configs, List<String> upstreams, InstantSource clock) {
        List<Route> routes = new ArrayList<>();
        for (int i = 0; i < configs.size(); i++) {
            RouteConfig c = configs.get(i);
            DkimSigner dkim = null;
            if (c.dkim() != null) {
                try {
                    dkim = DkimSigner.load(c.dkim(), clock);
                } catch (IOException e) {
                    throw new IllegalArgumentException("routes[" + i + "].dkim.key-file: " + e.getMessage(), e);
                }
            }
            routes.add(new Route(c.name(), c.senders(), new HashSet<>(c.users()), c.upstreams(),
                    new Route.Rewrite(c.rewriteSender(), c.rewriteFrom(), c.replyToOriginal(),
                            new HashSet<>(c.stripHeaders())), dkim));
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
