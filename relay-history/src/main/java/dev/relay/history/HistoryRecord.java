package dev.relay.history;

import java.time.Instant;
import java.util.List;

/** One thing to write to the history, queued for the writer thread. */
sealed interface HistoryRecord {
    String queueId();

    Instant at();

    /** A message committed to the spool; {@code submitter} "" for a trusted client, null for a bounce. */
    record Received(String queueId, Instant at, Instant receivedAt, String sender, List<String> recipients,
                    String submitter, long size) implements HistoryRecord {}

    /** The receive side's details of a message received. */
    record Details(String queueId, Instant at, Receipt receipt) implements HistoryRecord {}

    /** One recipient's result of one delivery attempt. */
    record Attempt(String queueId, Instant at, String recipient, String upstream, String host, Instant started,
                   long durationMillis, String detail) implements HistoryRecord {}

    /**
     * Recipients reaching a state: {@code delivered}, {@code deferred} (with {@code next}), {@code failed},
     * {@code expired}.
     */
    record Outcome(String queueId, Instant at, String kind, List<String> recipients, String detail, Instant next)
            implements HistoryRecord {}

    /** The sender was notified of failed recipients: by the DSN {@code dsnId}, or only in the log (null). */
    record Bounced(String queueId, Instant at, List<String> recipients, String dsnId, String dsnRecipient)
            implements HistoryRecord {}

    /**
     * The sender was warned that {@code recipients} are still delayed: by the delay warning {@code dsnId}, or only in
     * the log (null). The recipients keep their status.
     */
    record DelayWarned(String queueId, Instant at, List<String> recipients, String dsnId, String dsnRecipient)
            implements HistoryRecord {}

    /** An operator's action: hold, release, retry, delete, requeue; {@code by} who (or "-"). */
    record Action(String queueId, Instant at, String action, String by) implements HistoryRecord {}

    /**
     * A message another replica handed off to this one: {@code originalId} its queue id there, {@code detail} the
     * rest of its {@code X-Relay-Handoff} header (receipt time, replica, hop).
     */
    record HandedOff(String queueId, Instant at, String originalId, String detail) implements HistoryRecord {}
}
