/**
 * Stage: commit, schedule and bounce (Postfix's cleanup, qmgr and bounce). Guarantees: a message is acknowledged
 * only after the spool committed it; every committed message is handed to delivery until each recipient is
 * delivered or failed permanently (5xx, or expired after {@code max-lifetime}); at most a bounded number of
 * deliveries run at once, fed fairly from new and deferred mail; delivery starts as soon as a message is committed;
 * the sender of permanently failed recipients gets an RFC 3464 DSN, itself queued durably (never for a null
 * sender); held messages are never scheduled; operator actions ({@link dev.relay.core.queue.QueueAdmin}) go
 * through the scheduler's lock and never touch a message being delivered.
 */
package dev.relay.core.queue;
