package dev.relay.core.queue;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.Spool;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import org.slf4j.Logger;

/**
 * Stage: bounce (Postfix's bounce). Tells the sender of permanently failed recipients: an RFC 3464 DSN from
 * {@code MAILER-DAEMON}, committed to the spool like any received message and handed to the scheduler as new mail,
 * or only a log line ({@code queue.bounces=log}); and, the same way, of recipients still delayed
 * ({@link DelayWarning}). A message with a null sender is never bounced (a bounce never
 * bounces). When the DSN cannot be queued, the original stays in failed/ with its reason: nothing is lost, the
 * sender is just not told.
 */
final class Bounce {
    private static final Logger log = QueueManager.LOG;

    private final Spool spool;
    private final QueueListener listener;
    private final QueueManager.Bounces bounces;
    /** Takes a committed DSN as new mail (the scheduler's FIFO). */
    private final Consumer<QueueId> schedule;

    Bounce(Spool spool, QueueListener listener, QueueManager.Bounces bounces, Consumer<QueueId> schedule) {
        this.spool = spool;
        this.listener = listener;
        this.bounces = bounces;
        this.schedule = schedule;
    }

    /** Notifies the sender of {@code original} that {@code failures} failed; {@code size} is its body's. */
    void send(Envelope original, long size, List<Dsn.Failure> failures, Instant now) {
        List<MailAddress> recipients = failures.stream().map(Dsn.Failure::recipient).toList();
        if (original.sender().isNullSender()) {
            log.info("{}: no bounce for failed to={}: the sender is null (a bounce never bounces)",
                    original.id(), addresses(recipients));
            return;
        }
        if (!bounces.send()) {
            log.info("{}: bounce not sent (queue.bounces=log) from=<{}> failed={}", original.id(),
                    original.sender(), addresses(recipients));
            listener.bounced(original, recipients, false, null);
            return;
        }
        try {
            QueueId dsnId = store(original, size, now, (id, headers) -> Dsn.build(bounces.reportingMta(), id,
                    original, failures, headers, now));
            log.info("{}: bounced dsn={} to=<{}> failed={}", original.id(), dsnId, original.sender(),
                    addresses(recipients));
            listener.bounced(original, recipients, true, dsnId);
            schedule.accept(dsnId);
        } catch (IOException | RuntimeException e) {
            // the original stays in failed/ with its reason: nothing is lost, the sender is just not told
            log.error("{}: cannot queue a bounce to <{}>: {}", original.id(), original.sender(), e.toString());
        }
    }

    /**
     * Warns the sender of {@code original} that {@code delays} are still being retried, until {@code until}: a
     * delay warning ({@link Dsn#delayed}), or only a log line with {@code queue.bounces=log}. Returns whether that
     * was done, so that the caller records the warning; false (logged) when the warning could not be queued, to be
     * tried again at the next chance. Never called for a null sender.
     */
    boolean warn(Envelope original, long size, List<Dsn.Delay> delays, Instant until, Instant now) {
        List<MailAddress> recipients = delays.stream().map(Dsn.Delay::recipient).toList();
        String age = Dsn.human(java.time.Duration.between(original.receivedAt(), now));
        if (!bounces.send()) {
            log.info("{}: delay warning not sent (queue.bounces=log) from=<{}> delayed={} age={}", original.id(),
                    original.sender(), addresses(recipients), age);
            listener.delayWarned(original, recipients, null);
            return true;
        }
        try {
            QueueId dsnId = store(original, size, now, (id, headers) -> Dsn.delayed(bounces.reportingMta(), id,
                    original, delays, until, headers, now));
            log.info("{}: delay warning dsn={} to=<{}> delayed={} age={} until={}", original.id(), dsnId,
                    original.sender(), addresses(recipients), age, until);
            listener.delayWarned(original, recipients, dsnId);
            schedule.accept(dsnId);
            return true;
        } catch (IOException | RuntimeException e) {
            log.error("{}: cannot queue a delay warning to <{}>: {}", original.id(), original.sender(),
                    e.toString());
            return false;
        }
    }

    /** A report built from the original's headers, committed from {@code <>} to its sender; returns its id. */
    private QueueId store(Envelope original, long size, Instant now, BiFunction<QueueId, byte[], byte[]> report)
            throws IOException {
        byte[] headers = Dsn.readHeaders(spool.body(original.id(), size));
        QueueId dsnId = QueueId.next(now);
        Envelope env = Envelope.received(dsnId, MailAddress.NULL_SENDER, List.of(original.sender()), now, "");
        spool.store(env, new ByteArrayInputStream(report.apply(dsnId, headers)));
        return dsnId;
    }

    /** Addresses for a key=value log line: {@code <a@x>,<b@y>}, no spaces. */
    static String addresses(List<MailAddress> list) {
        StringBuilder b = new StringBuilder();
        for (MailAddress a : list) {
            b.append(b.isEmpty() ? "" : ",").append('<').append(a).append('>');
        }
        return b.toString();
    }
}
