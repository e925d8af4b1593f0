package dev.relay.core.delivery;

import dev.relay.core.model.MailAddress;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The outcome of one delivery attempt for each recipient, in envelope order.
 *
 * @param circuit      null, or the circuits the recipients still pending wait for (see {@link CircuitWait})
 * @param notAttempted null, or why no upstream was even tried for another reason than an open circuit (see
 *                     {@link NotAttempted})
 */
public record DeliveryReport(String upstream, Map<MailAddress, Outcome> byRecipient, CircuitWait circuit,
                             NotAttempted notAttempted) {
    public DeliveryReport {
        byRecipient = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(byRecipient));
    }

    /** A report whose pending recipients, if any, wait for a clock (a backoff), not for a circuit. */
    public DeliveryReport(String upstream, Map<MailAddress, Outcome> byRecipient) {
        this(upstream, byRecipient, null, null);
    }

    /** A report whose pending recipients, if any, wait for {@code circuit} (null: for a backoff). */
    public DeliveryReport(String upstream, Map<MailAddress, Outcome> byRecipient, CircuitWait circuit) {
        this(upstream, byRecipient, circuit, null);
    }

    /**
     * No attempt was made, and not because of a circuit: the upstream's rate limit would not let the message go
     * within the pool's longest wait (a used-up daily quota, a very low per-second rate), or the engine is closed (a
     * reload replaced it, or the relay is stopping). Every recipient failed transiently with the reason; the
     * queue counts no attempt, grows no backoff, and makes the message due again after {@code retryAfter}.
     *
     * @param retryAfter when the limiter will next grant this message a token, from now; zero when there is nothing
     *                   to wait for but another engine (the queue then waits a short while of its own)
     */
    public record NotAttempted(Duration retryAfter) {
        public NotAttempted {
            if (retryAfter == null || retryAfter.isNegative()) {
                throw new IllegalArgumentException("retryAfter must be zero or positive");
            }
        }
    }

    /** Every recipient failed transiently with {@code detail} without an attempt; see {@link NotAttempted}. */
    public static DeliveryReport notAttempted(String upstream, Collection<MailAddress> recipients, String detail,
                                              Duration retryAfter) {
        DeliveryReport all = all(upstream, recipients, new Outcome.TransientFailure(detail));
        return new DeliveryReport(upstream, all.byRecipient, null, new NotAttempted(retryAfter));
    }

    /**
     * Why the recipients still pending failed, as far as the upstreams' circuits go: the upstreams of the
     * message's route could not be reached. When {@code open}, every one of them has its circuit open now: the
     * recipients wait for one to close (or to take a probe) rather than for a backoff. Otherwise the attempt failed
     * at every upstream it reached without an answer (no connection, a timeout, 421): the recipients wait for their
     * backoff, or for one of these circuits to close after it opened, whichever comes first.
     *
     * @param upstreams the upstreams of the message's route, in order
     * @param attempted whether this delivery reached an upstream at all; false: every upstream was skipped by its
     *                  open circuit, no attempt was made and none may be counted
     * @param open      every upstream of the route has its circuit open (or probing) now
     */
    public record CircuitWait(List<String> upstreams, boolean attempted, boolean open) {
        public CircuitWait {
            upstreams = List.copyOf(upstreams);
            if (upstreams.isEmpty()) {
                throw new IllegalArgumentException("a circuit wait names at least one upstream");
            }
            if (!attempted && !open) {
                throw new IllegalArgumentException("only an open circuit skips an attempt");
            }
        }
    }

    /** This report with {@code wait}. */
    public DeliveryReport waitingFor(CircuitWait wait) {
        return new DeliveryReport(upstream, byRecipient, wait, notAttempted);
    }

    /** The same outcome for every recipient: a connection that failed before any RCPT, say. */
    public static DeliveryReport all(String upstream, Collection<MailAddress> recipients, Outcome outcome) {
        Map<MailAddress, Outcome> map = new LinkedHashMap<>();
        for (MailAddress r : recipients) {
            map.put(r, outcome);
        }
        return new DeliveryReport(upstream, map);
    }

    public List<MailAddress> recipientsWith(Class<? extends Outcome> kind) {
        return byRecipient.entrySet().stream().filter(e -> kind.isInstance(e.getValue())).map(Map.Entry::getKey)
                .toList();
    }
}
