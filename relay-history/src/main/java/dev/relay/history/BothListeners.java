package dev.relay.history;

import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.queue.QueueListener;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Two queue listeners as one: the metrics' first, then the history's. Every method of {@link QueueListener} is
 * forwarded ({@code BothListenersTest} checks that none is left to its default).
 */
public record BothListeners(QueueListener first, QueueListener second) implements QueueListener {
    @Override
    public void received(Envelope envelope, long size) {
        first.received(envelope, size);
        second.received(envelope, size);
    }

    @Override
    public void delivered(Envelope envelope, List<MailAddress> recipients, String upstream, long size,
                          Duration latency) {
        first.delivered(envelope, recipients, upstream, size, latency);
        second.delivered(envelope, recipients, upstream, size, latency);
    }

    @Override
    public void deferred(Envelope envelope, List<MailAddress> recipients, String detail) {
        first.deferred(envelope, recipients, detail);
        second.deferred(envelope, recipients, detail);
    }

    @Override
    public void deferred(Envelope envelope, List<MailAddress> recipients, String detail, Instant next) {
        first.deferred(envelope, recipients, detail, next);
        second.deferred(envelope, recipients, detail, next);
    }

    @Override
    public void reported(Envelope envelope, DeliveryReport report) {
        first.reported(envelope, report);
        second.reported(envelope, report);
    }

    @Override
    public void failed(Envelope envelope, List<MailAddress> recipients, String detail) {
        first.failed(envelope, recipients, detail);
        second.failed(envelope, recipients, detail);
    }

    @Override
    public void attempted(Envelope envelope, int attempt) {
        first.attempted(envelope, attempt);
        second.attempted(envelope, attempt);
    }

    @Override
    public void expired(Envelope envelope, List<MailAddress> recipients, Duration age) {
        first.expired(envelope, recipients, age);
        second.expired(envelope, recipients, age);
    }

    @Override
    public void bounced(Envelope envelope, List<MailAddress> recipients, boolean sent) {
        first.bounced(envelope, recipients, sent);
        second.bounced(envelope, recipients, sent);
    }

    @Override
    public void bounced(Envelope envelope, List<MailAddress> recipients, boolean sent, QueueId dsn) {
        first.bounced(envelope, recipients, sent, dsn);
        second.bounced(envelope, recipients, sent, dsn);
    }

    @Override
    public void delayWarned(Envelope envelope, List<MailAddress> recipients, QueueId dsn) {
        first.delayWarned(envelope, recipients, dsn);
        second.delayWarned(envelope, recipients, dsn);
    }

    @Override
    public void inflowPaused(long nanos) {
        first.inflowPaused(nanos);
        second.inflowPaused(nanos);
    }
}
