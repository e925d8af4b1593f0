package dev.relay.core.delivery;

import dev.relay.core.delivery.Outcome.Delivered;
import dev.relay.core.delivery.Outcome.PermanentFailure;
import dev.relay.core.delivery.Outcome.TransientFailure;
import dev.relay.core.model.MailAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outcomes of one mail transaction (MAIL, RCPT..., DATA) as its replies arrive, in order: the MAIL reply
 * decides every recipient if it is a refusal, each RCPT reply its recipient, the DATA and end-of-data replies the
 * recipients the upstream accepted. The first decision for a recipient stands. No I/O here: the connection's
 * handler sends and feeds the replies in.
 */
final class SmtpTransaction {
    private static final Logger LOG = LoggerFactory.getLogger(SmtpTransaction.class);

    private final DeliveryJob job;
    private final UpstreamTarget target;
    private final String hostPort;
    private final Map<MailAddress, Outcome> decided = new LinkedHashMap<>();
    private final List<MailAddress> accepted = new ArrayList<>();
    private boolean mailAccepted;
    private int rcptReplies;
    private boolean sawTransient;

    /** A transaction of {@code job} with {@code target}, reached at {@code hostPort} (the connection's). */
    SmtpTransaction(DeliveryJob job, UpstreamTarget target, String hostPort) {
        this.job = job;
        this.target = target;
        this.hostPort = hostPort;
    }

    DeliveryJob job() {
        return job;
    }

    String id() {
        return job.id();
    }

    List<MailAddress> recipients() {
        return job.envelope().recipients();
    }

    boolean isDone() {
        return job.result().isDone();
    }

    /** A 4xx reply (or a failure) was part of this transaction: the connection is not to be trusted again. */
    boolean sawTransient() {
        return sawTransient;
    }

    boolean mailAccepted() {
        return mailAccepted;
    }

    boolean hasAccepted() {
        return !accepted.isEmpty();
    }

    /** How many RCPT replies have arrived. */
    int rcptReplies() {
        return rcptReplies;
    }

    boolean allRcptsAnswered() {
        return rcptReplies >= recipients().size();
    }

    /** A 2xx, 4xx or 5xx reply to MAIL FROM. */
    void mailReply(SmtpReply reply) {
        if (reply.isPositive()) {
            mailAccepted = true;
        } else {
            decideAll(outcomeOf(AccountReplies.Phase.MAIL, reply));
        }
    }

    /** A 2xx, 4xx or 5xx reply to the next RCPT TO; ignored (already decided) when MAIL was refused. */
    void rcptReply(SmtpReply reply) {
        MailAddress rcpt = recipients().get(rcptReplies++);
        if (!mailAccepted) {
            return;
        }
        if (reply.isPositive()) {
            accepted.add(rcpt);
        } else {
            decided.putIfAbsent(rcpt, outcomeOf(AccountReplies.Phase.RCPT, reply));
        }
    }

    /** A refusal of DATA, or the reply after the message data: decides the accepted recipients. */
    void acceptedReply(SmtpReply reply) {
        decideAccepted(outcomeOf(AccountReplies.Phase.DATA, reply));
    }

    void decideAll(Outcome outcome) {
        noteTransient(outcome);
        for (MailAddress r : recipients()) {
            decided.putIfAbsent(r, outcome);
        }
    }

    private void decideAccepted(Outcome outcome) {
        noteTransient(outcome);
        for (MailAddress r : accepted) {
            decided.putIfAbsent(r, outcome);
        }
    }

    private void noteTransient(Outcome outcome) {
        sawTransient |= outcome instanceof TransientFailure;
    }

    /** Something went wrong on the connection: every recipient not yet decided is deferred. */
    void failAll(String detail) {
        failAll(detail, null);
    }

    /** As {@link #failAll(String)}, for a reason about the relay's account ({@code account} may be null). */
    void failAll(String detail, AccountReplies.Verdict account) {
        sawTransient = true;
        decideAll(new TransientFailure(detail, account));
    }

    /** Whether some recipient was delivered in this transaction. */
    boolean deliveredAny() {
        return decided.values().stream().anyMatch(o -> o instanceof Delivered);
    }

    /**
     * 2xx delivered; a reply about the relay's account ({@link AccountReplies}) transient with its verdict,
     * whatever its code; else 4xx transient, 5xx permanent. Callers check for other codes first.
     */
    private Outcome outcomeOf(AccountReplies.Phase phase, SmtpReply reply) {
        if (reply.isPositive()) {
            return new Delivered(reply.toString());
        }
        AccountReplies.Verdict account = target.accountReplies().classify(phase, reply);
        if (account != null) {
            return new TransientFailure(reply.toString(), account);
        }
        return reply.isTransient() ? new TransientFailure(reply.toString()) : new PermanentFailure(reply.toString());
    }

    /** Completes the job's future (once) with every recipient's outcome and logs each. */
    void complete() {
        if (isDone()) {
            return;
        }
        decideAll(new TransientFailure("no outcome from " + hostPort + " (internal error)"));
        Map<MailAddress, Outcome> byRecipient = new LinkedHashMap<>();
        for (MailAddress r : recipients()) {
            byRecipient.put(r, decided.get(r));
        }
        DeliveryReport report = new DeliveryReport(target.name(), byRecipient);
        for (Map.Entry<MailAddress, Outcome> e : report.byRecipient().entrySet()) {
            Outcome o = e.getValue();
            String what = switch (o) {
                case Delivered d -> "delivered";
                case TransientFailure t -> "deferred";
                case PermanentFailure p -> "refused";
            };
            LOG.info("{}: attempt to=<{}> upstream={} host={} result={} reply=\"{}\"", id(), e.getKey(), target.name(),
                    hostPort, what, o.detail());
        }
        job.result().complete(report);
    }
}
