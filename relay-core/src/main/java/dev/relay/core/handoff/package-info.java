/**
 * The hand-off on scale-down: a stopping relay relays what it still holds to a peer relay over authenticated
 * SMTP, through the delivery engine, and removes each message only after the peer's {@code 250}
 * ({@link dev.relay.core.handoff.Handoff}); the trace header {@code X-Relay-Handoff} carries the original queue
 * id, the receipt time, the replica and the hop count ({@link dev.relay.core.handoff.HandoffHeader}), which the
 * receiving side checks against loops.
 */
package dev.relay.core.handoff;
