/**
 * The operator's queue actions (retry, hold, release, requeue, delete) as one code path for the queue API
 * ({@code /api/queue}) and the web console: through {@code QueueAdmin}, then recorded in the message history; and
 * the hand-off of the queue by hand on a running relay ({@code QueueActions.Handoffs}, {@code HandoffRequest}).
 */
package dev.relay.server.admin.action;
