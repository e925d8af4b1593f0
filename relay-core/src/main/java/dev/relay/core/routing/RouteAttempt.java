package dev.relay.core.routing;

import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.spool.Body;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One message's way through its route: the outcome of each recipient so far, the upstreams used and skipped, and
 * at the end the report the queue settles ({@link #finish}), which says whether the message is to wait for a
 * circuit or for an upstream's rate limit instead of a backoff.
 */
final class RouteAttempt {
    private static final Logger LOG = LoggerFactory.getLogger(RoutingEngine.class); // the name the logs have shown

    final Envelope envelope;
    final Route route;
    final Body body;
    private final MailAddress sender;
    private final Map<MailAddress, Outcome> outcomes = new LinkedHashMap<>();
    private final List<String> used = new ArrayList<>();
    private final List<String> skipped = new ArrayList<>();
    private List<MailAddress> pending;
    /** Some upstream answered (a reply other than 421): it was reachable. */
    private boolean answered;
    /** The soonest an upstream that made no attempt (its rate limit, or closed) can take the message; or null. */
    private DeliveryReport.NotAttempted notAttempted;

    RouteAttempt(Envelope envelope, Route route, MailAddress sender, Body body) {
        this.envelope = envelope;
        this.route = route;
        this.sender = sender;
        this.body = body;
        this.pending = envelope.recipients();
    }

    boolean done() {
        return pending.isEmpty();
    }

    /** The envelope the next upstream gets: the route's sender, the recipients still pending. */
    Envelope outgoing() {
        Envelope e = envelope;
        return new Envelope(e.id(), sender, pending, e.receivedAt(), e.submitter(), e.attempts(),
                e.nextAttempt(), e.lastError(), e.smtputf8(), e.delayWarned());
    }

    /** The upstream was not tried: its circuit is open. */
    void circuitOpen(String name) {
        skipped.add(name);
    }

    /**
     * The upstream's engine made no attempt (its rate limit is used up, or it is closed): nothing is known about
     * the upstream, so its circuit neither counts a failure nor closes; a probe it had admitted goes back. The
     * recipients go on to the next upstream as after a transient failure.
     */
    void notAttempted(String name, DeliveryReport report, Circuits circuits) {
        skipped.add(name);
        for (MailAddress r : pending) {
            Outcome o = report.byRecipient().get(r);
            outcomes.put(r, o != null ? o : new Outcome.TransientFailure("upstream " + name + " made no attempt"));
        }
        Duration after = report.notAttempted().retryAfter();
        if (notAttempted == null || after.compareTo(notAttempted.retryAfter()) < 0) {
            notAttempted = report.notAttempted();
        }
        circuits.giveBack(name);
        LOG.info("{}: no attempt via upstream {}: {}", envelope.id(), name, outcomes.get(pending.get(0)).detail());
    }

    /** The upstream tried: each recipient's outcome, and the circuit told whether the upstream answered. */
    void attempted(String name, DeliveryReport report, boolean more, Circuits circuits) {
        used.add(name);
        List<MailAddress> stillPending = new ArrayList<>();
        boolean replied = false;
        String lastTransient = "";
        for (MailAddress r : pending) {
            Outcome o = report.byRecipient().get(r);
            if (o == null) {
                o = new Outcome.TransientFailure("upstream " + name + " reported no outcome for this recipient");
            }
            outcomes.put(r, o);
            switch (o) {
                case Outcome.TransientFailure t -> {
                    stillPending.add(r);
                    lastTransient = t.detail();
                    // a 4xx reply other than 421 (greylisting, mailbox busy) comes from a working upstream: counting
                    // it as a failure opened the circuit on one slow recipient and blocked (and expired) other mail
                    // so does a reply about the relay's account (any code, AccountReplies): the upstream answered;
                    // the recipient fails over, the queue defers it, and the alert is the account's, not the circuit's
                    replied |= t.detail().matches("[45][0-9][0-9][ -].*") && !t.detail().startsWith("421")
                            && (t.detail().startsWith("4") || t.account() != null);
                }
                case Outcome.Delivered d -> replied = true;
                case Outcome.PermanentFailure p -> replied = true;
            }
        }
        pending = stillPending;
        answered |= replied;
        if (replied) {
            circuits.succeeded(name);
        } else {
            circuits.failed(name);
        }
        if (!stillPending.isEmpty() && more) {
            LOG.info("{}: failover nrcpt={} upstream={} reply=\"{}\" route={}", envelope.id(),
                    stillPending.size(), name, lastTransient, route.name());
        }
    }

    /** The report of the whole route, each recipient's outcome in the envelope's order. */
    DeliveryReport finish(Circuits circuits) {
        Map<MailAddress, Outcome> ordered = new LinkedHashMap<>();
        for (MailAddress r : envelope.recipients()) {
            ordered.put(r, outcomes.get(r));
        }
        if (used.isEmpty() && notAttempted != null) {
            // no upstream made an attempt, and one will take the message after its wait: no attempt counts
            return new DeliveryReport("", ordered, null, notAttempted);
        }
        if (used.isEmpty()) {
            String detail = "all upstreams unavailable on route " + route.name() + " (circuit open: "
                    + String.join(", ", skipped) + ")";
            LOG.info("{}: {}", envelope.id(), detail);
            // no attempt was made: the message waits for a circuit, not for a backoff
            return DeliveryReport.all("", envelope.recipients(), new Outcome.TransientFailure(detail))
                    .waitingFor(new DeliveryReport.CircuitWait(route.upstreams(), false, true));
        }
        DeliveryReport report = new DeliveryReport(String.join(",", used), ordered);
        if (!pending.isEmpty() && circuits.noneClosed(route.upstreams())) {
            // this attempt failed and left every upstream of the route open (it opened the last one, or its probe
            // failed): the rest waits for a circuit too, or it would sit out a backoff after the upstream is back
            return report.waitingFor(new DeliveryReport.CircuitWait(route.upstreams(), true, true));
        }
        if (!pending.isEmpty() && !answered) {
            // no upstream answered: when one's circuit opens and closes again, this message need not sit out its
            // backoff (a message that failed before the circuit opened would otherwise miss the recovery)
            return report.waitingFor(new DeliveryReport.CircuitWait(route.upstreams(), true, false));
        }
        return report;
    }
}
