package dev.relay.core.queue;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.Spool;
import dev.relay.core.spool.SpoolException;
import java.io.InputStream;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;

/**
 * Stage: commit (Postfix's cleanup). A received message goes to the spool durably, then to the scheduler as new
 * mail, which wakes it at once (no polling delay); when new mail outruns delivery the submission pauses at the
 * {@link InflowGate} before it returns. When {@link #submit} returns the message will be delivered or failed, even
 * across a crash; when it throws, nothing was stored.
 */
final class Commit {
    private static final Logger log = QueueManager.LOG;

    private final QueueParts parts;
    private final InflowGate gate;

    Commit(QueueParts parts, InflowGate gate) {
        this.parts = parts;
        this.gate = gate;
    }

    QueueId submit(MailAddress sender, List<MailAddress> recipients, String submitter, boolean smtputf8,
                   InputStream body) throws SpoolException {
        Instant now = parts.clock().instant();
        Envelope envelope = Envelope.received(QueueId.next(now), sender, recipients, now, submitter, smtputf8);
        long size = parts.spool().store(envelope, body);
        log.info("{}: received from=<{}> to={} nrcpt={} size={} user={}", envelope.id(), sender,
                Bounce.addresses(recipients), recipients.size(), size, submitter.isEmpty() ? "-" : submitter);
        parts.listener().received(envelope, size);
        parts.scheduler().enqueueCommitted(new Spool.Stored(envelope, size));
        gate.pauseIfOver();
        return envelope.id();
    }
}
