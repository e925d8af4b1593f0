package dev.relay.core.queue;

import dev.relay.core.delivery.AccountReplies;
import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.SpoolException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;

/**
 * Stage: settle (Postfix's qmgr on a delivery agent's status, with {@code qmgr_defer}). Applies one delivery
 * report to its message, per recipient: delivered recipients are done; transient failures are deferred by the
 * {@link RetryPolicy}, or expire when the lifetime is over; permanent failures (and expired recipients) go to
 * failed/ and are bounced ({@link Bounce}) before the original leaves active/, so a crash repeats a bounce but
 * never loses one. A report whose pending recipients wait for a circuit (its {@link DeliveryReport.CircuitWait})
 * parks the message in the scheduler instead of backing it off; one where no upstream was even tried is no
 * attempt, so the count and the backoff stay as they were: a rate limit used up makes the message due when the
 * limiter grants again, a closed engine after a second ({@link DeliveryReport.NotAttempted}), through the
 * scheduler's heap like any due mail. Recipients pending for a reply about the relay's account (an
 * {@link dev.relay.core.delivery.AccountReplies} verdict that alerts) live {@code accountProblemLifetime} instead
 * of the message lifetime, and wait at least the verdict's {@code deferFor} when it has one. The spool is changed first, the scheduler after: what the scheduler owns is
 * always on disk where it says.
 */
final class Settle {
    private static final Logger log = QueueManager.LOG;
    /** The shortest wait after a delivery no upstream made an attempt for (an engine closed by a reload). */
    static final Duration NOT_ATTEMPTED_MIN_WAIT = Duration.ofSeconds(1);

    private final QueueParts parts;
    private final Bounce bounce;
    private final DelayWarning warnings;
    /** The retry policy of recipients pending for a reply about the relay's account: its own lifetime. */
    private final RetryPolicy accountRetry;

    Settle(QueueParts parts, Bounce bounce, DelayWarning warnings, Duration accountProblemLifetime) {
        this.parts = parts;
        this.bounce = bounce;
        this.warnings = warnings;
        this.accountRetry = parts.retry().withMaxLifetime(accountProblemLifetime);
    }

    /**
     * Records a delivery's outcome. {@code deliveryDone} gives the delivery's place in the active window back: for a
     * message delivered to every recipient, before its removal, which waits for the spool's next removal round (up
     * to 50 ms that need not hold up the next delivery); the caller gives it back after anything else.
     */
    void apply(Envelope envelope, long size, DeliveryReport report, Runnable deliveryDone)
            throws SpoolException {
        Instant now = parts.clock().instant();
        List<MailAddress> delivered = report.recipientsWith(Outcome.Delivered.class);
        List<MailAddress> pending = report.recipientsWith(Outcome.TransientFailure.class);
        List<MailAddress> failed = report.recipientsWith(Outcome.PermanentFailure.class);
        Duration delay = Duration.between(envelope.receivedAt(), now);
        // pending recipients whose every upstream has an open circuit wait for it; when no upstream was even tried
        // (every circuit open, the rate limit used up, the engine closed), this was no attempt: the count, and so
        // the backoff, stay as they were
        DeliveryReport.NotAttempted skipped = pending.isEmpty() ? null : report.notAttempted();
        DeliveryReport.CircuitWait wait = pending.isEmpty() || skipped != null ? null : report.circuit();
        boolean attempted = skipped == null && (wait == null || wait.attempted());
        int attempt = attempted ? envelope.attempts() + 1 : envelope.attempts();
        parts.listener().reported(envelope, report);
        if (!delivered.isEmpty()) {
            log.info("{}: delivered from=<{}> to={} upstream={} reply=\"{}\" delay={}ms size={} attempt={}",
                    envelope.id(), envelope.sender(), Bounce.addresses(delivered), report.upstream(),
                    detail(report, delivered), delay.toMillis(), size, attempt);
            parts.listener().delivered(envelope, delivered, report.upstream(), size, delay);
        }
        List<Dsn.Failure> permanent = new ArrayList<>();
        if (!failed.isEmpty()) {
            log.info("{}: failed from=<{}> to={} upstream={} reply=\"{}\" delay={}ms size={} attempt={}",
                    envelope.id(), envelope.sender(), Bounce.addresses(failed), report.upstream(),
                    detail(report, failed), delay.toMillis(), size, attempt);
            parts.listener().failed(envelope, failed, detail(report, failed));
            failed.forEach(r -> permanent.add(new Dsn.Failure(r, report.byRecipient().get(r).detail(), false)));
        }
        Instant next = null;
        Instant until = null;
        if (!pending.isEmpty()) {
            String reason = detail(report, pending);
            AccountReplies.Verdict account = account(report, pending);
            RetryPolicy policy = account != null && account.alerts() ? accountRetry : parts.retry();
            until = envelope.receivedAt().plus(policy.maxLifetime());
            switch (policy.afterTransientFailure(envelope.receivedAt(), Math.max(1, attempt), now)) {
                // not attempted: when the limiter grants again; waiting on open circuits: stored due now, in memory
                // parked (see park); an account verdict's deferFor at the least; else the backoff
                case RetryPolicy.Decision.Retry r -> next = skipped != null ? reopens(envelope, skipped, now)
                        : wait != null && wait.open() ? now : deferred(envelope, account, policy, r.at(), now);
                case RetryPolicy.Decision.Expire e -> {
                    log.info("{}: expired from=<{}> to={} upstream={} reply=\"{}\" delay={}ms size={} attempt={} "
                                    + "age={}", envelope.id(), envelope.sender(), Bounce.addresses(pending),
                            report.upstream(), reason, delay.toMillis(), size, attempt, Dsn.human(e.age()));
                    parts.listener().expired(envelope, pending, e.age());
                    pending.forEach(r -> permanent.add(new Dsn.Failure(r,
                            Dsn.expiredReason(policy.maxLifetime(), report.byRecipient().get(r).detail()), true)));
                    pending = List.of();
                }
            }
        }
        if (!permanent.isEmpty()) {
            // before the original leaves active/: a crash repeats the bounce, never loses it
            bounce.send(envelope, size, permanent, now);
        }
        // likewise the delay warning before the deferred envelope that records it
        Envelope base = !pending.isEmpty() && warnings.atDeferral(envelope, size, pending.stream()
                .map(r -> new Dsn.Delay(r, report.byRecipient().get(r).detail())).toList(), until, now)
                ? envelope.withDelayWarned() : envelope;
        String reason = pending.isEmpty() ? null : detail(report, pending);
        Envelope stored = pending.isEmpty() ? null : attempted ? base.deferred(pending, next, reason)
                : base.notAttempted(pending, next, reason);
        if (!pending.isEmpty() && wait != null && wait.open()) {
            // stored due now: a restart (whose circuits start closed) tries it at once
            parts.spool().update(stored, size, QueueState.ACTIVE, QueueState.DEFERRED);
            log.info("{}: deferred from=<{}> to={} upstream={} reply=\"{}\" delay={}ms size={} attempt={} next={} "
                            + "attempted={} waiting={}", envelope.id(), envelope.sender(), Bounce.addresses(pending),
                    report.upstream(), reason, delay.toMillis(), size, attempt, next, attempted,
                    String.join(",", wait.upstreams()));
            parts.listener().deferred(envelope, pending, reason, next);
            parts.scheduler().park(envelope.id(), wait.upstreams(), expiry(envelope), true);
            warnings.watch(stored); // (once the scheduler holds it as deferred: the wake-up skips anything else)
        } else if (!pending.isEmpty()) {
            parts.spool().update(stored, size, QueueState.ACTIVE, QueueState.DEFERRED);
            log.info("{}: deferred from=<{}> to={} upstream={} reply=\"{}\" delay={}ms size={} attempt={} next={}{}",
                    envelope.id(), envelope.sender(), Bounce.addresses(pending), report.upstream(), reason,
                    delay.toMillis(), size, attempt, next, attempted ? "" : " attempted=false");
            parts.listener().deferred(envelope, pending, reason, next);
            if (wait != null) { // its upstreams were unreachable: a circuit that closes again releases it
                parts.scheduler().park(envelope.id(), wait.upstreams(), next, false);
            } else {
                parts.scheduler().enqueueDeferred(envelope.id(), next);
            }
            warnings.watch(stored);
        } else if (!permanent.isEmpty()) {
            // kept as a dead letter for inspection and requeue
            parts.spool().update(envelope.deferred(permanent.stream().map(Dsn.Failure::recipient).toList(), now,
                    permanent.get(0).detail()), size, QueueState.ACTIVE, QueueState.FAILED);
            parts.scheduler().forget(envelope.id());
        } else {
            deliveryDone.run(); // (stop() waits for the outcomes still being recorded, this removal too)
            parts.spool().remove(envelope.id(), QueueState.ACTIVE);
            parts.scheduler().forget(envelope.id());
        }
    }

    /**
     * When a message no upstream made an attempt for is due again: when the limiter grants its token (or, for a
     * closed engine, after {@link #NOT_ATTEMPTED_MIN_WAIT}, so that an engine closed for good is not asked in a
     * loop), never past the end of the lifetime (the last retry, as after a failed attempt).
     */
    private Instant reopens(Envelope envelope, DeliveryReport.NotAttempted skipped, Instant now) {
        Duration after = skipped.retryAfter();
        Instant at = now.plus(after.compareTo(NOT_ATTEMPTED_MIN_WAIT) < 0 ? NOT_ATTEMPTED_MIN_WAIT : after);
        Instant expiry = expiry(envelope);
        return at.isAfter(expiry) ? expiry : at;
    }

    /** The end of the message's lifetime: its last retry. */
    private Instant expiry(Envelope envelope) {
        return envelope.receivedAt().plus(parts.retry().maxLifetime());
    }

    /** The backoff's {@code at}, or later when the account verdict asks to wait longer; never past the lifetime. */
    private static Instant deferred(Envelope envelope, AccountReplies.Verdict account, RetryPolicy policy, Instant at,
                                    Instant now) {
        if (account == null || account.deferFor() == null) {
            return at;
        }
        Instant until = now.plus(account.deferFor());
        Instant expiry = envelope.receivedAt().plus(policy.maxLifetime());
        Instant later = until.isAfter(at) ? until : at;
        return later.isAfter(expiry) ? expiry : later;
    }

    /** The account verdict of the first pending recipient that has one, or null. */
    private static AccountReplies.Verdict account(DeliveryReport report, List<MailAddress> pending) {
        for (MailAddress r : pending) {
            if (report.byRecipient().get(r) instanceof Outcome.TransientFailure t && t.account() != null) {
                return t.account();
            }
        }
        return null;
    }

    private static String detail(DeliveryReport report, List<MailAddress> recipients) {
        return report.byRecipient().get(recipients.get(0)).detail();
    }
}
