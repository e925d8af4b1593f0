/**
 * Stage: commit and schedule (Postfix's cleanup and qmgr). Guarantees: a message is acknowledged only after the
 * spool committed it; every committed message is handed to delivery until each recipient is delivered or failed
 * permanently; at most a bounded number of deliveries run at once; delivery starts as soon as a message is
 * committed.
 */
package dev.relay.core.queue;
