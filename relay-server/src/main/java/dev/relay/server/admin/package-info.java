/**
 * The operate stage: the admin HTTP endpoint ({@code /metrics}, {@code /healthz}, {@code /readyz}, the queue API
 * under {@code /api/queue} that {@code relay queue} calls) and the Micrometer metrics the core's events feed.
 *
 * <p>Guarantee: only this package and the wiring know Micrometer; operator actions go through the queue's
 * scheduler, never around it.
 */
package dev.relay.server.admin;
