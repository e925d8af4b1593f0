package dev.relay.core.queue;

import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Message events, for metrics. Called on the queue's threads: implementations must be fast and must not throw.
 * Only the server module knows Micrometer; the core only emits these.
 */
public interface QueueListener {
    QueueListener NONE = new QueueListener() {};

    /** A message was committed to the spool and acknowledged. */
    default void received(Envelope envelope, long size) {}

    /** Recipients accepted by the upstream; {@code latency} is from receipt to this delivery. */
    default void delivered(Envelope envelope, List<MailAddress> recipients, String upstream, long size,
                           Duration latency) {}

    /** Recipients that failed transiently and will be retried. */
    default void deferred(Envelope envelope, List<MailAddress> recipients, String detail) {}

    /** As {@link #deferred(Envelope, List, String)}, with the time the next attempt is due. */
    default void deferred(Envelope envelope, List<MailAddress> recipients, String detail, Instant next) {
        deferred(envelope, recipients, detail);
    }

    /**
     * What one delivery attempt of {@code envelope} brought: per recipient the upstream's reply or the failure
     * ({@link dev.relay.core.delivery.Outcome#detail()}). Called once per delivery, before the outcome is applied
     * ({@link #delivered}, {@link #failed}, {@link #expired}, {@link #deferred}), for the message history.
     */
    default void reported(Envelope envelope, DeliveryReport report) {}

    /** Recipients that failed permanently (5xx). */
    default void failed(Envelope envelope, List<MailAddress> recipients, String detail) {}

    /** A delivery attempt starts ({@code attempt} counts from 1). */
    default void attempted(Envelope envelope, int attempt) {}

    /** Recipients still pending when the message reached its maximum lifetime: they fail permanently. */
    default void expired(Envelope envelope, List<MailAddress> recipients, Duration age) {}

    /**
     * The sender of {@code envelope} is notified that {@code recipients} failed: a DSN was queued ({@code sent}),
     * or only logged because {@code queue.bounces} is {@code log}. Never called for a message with a null sender.
     */
    default void bounced(Envelope envelope, List<MailAddress> recipients, boolean sent) {}

    /** As {@link #bounced(Envelope, List, boolean)}, with the queue id of the DSN when one was queued, else null. */
    default void bounced(Envelope envelope, List<MailAddress> recipients, boolean sent, QueueId dsn) {
        bounced(envelope, recipients, sent);
    }

    /**
     * The sender of {@code envelope} was warned that {@code recipients} are still delayed ({@code queue.delay-warning}):
     * by the delay warning {@code dsn}, or only in the log ({@code queue.bounces: log}) when null. At most once per
     * message; never for a message with a null sender.
     */
    default void delayWarned(Envelope envelope, List<MailAddress> recipients, QueueId dsn) {}

    /**
     * A submission paused {@code nanos} after its commit (before its 250) because new mail waiting for delivery
     * was above the in-flow limit: acceptance was outrunning delivery.
     */
    default void inflowPaused(long nanos) {}
}
