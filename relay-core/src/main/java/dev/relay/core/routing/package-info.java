/**
 * Routing and failover, between the queue and the per-upstream delivery engines. {@link
 * dev.relay.core.routing.RoutingEngine} picks a message's route (by envelope sender and submitting user), applies
 * the route's outbound rewriting to a temporary copy and its DKIM signature to what it sends (the spooled
 * original stays untouched), and tries the route's upstreams in order: recipients that fail transiently at one upstream go to the next within the same attempt;
 * permanent failures never fail over. A circuit breaker per upstream takes one that keeps failing out for a
 * cool-down and lets a single probe through afterwards.
 */
package dev.relay.core.routing;
