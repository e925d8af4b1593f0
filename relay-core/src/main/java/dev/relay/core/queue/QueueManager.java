package dev.relay.core.queue;

import dev.relay.core.delivery.DeliveryEngine;
import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.QueueState;
import dev.relay.core.spool.Spool;
import dev.relay.core.spool.SpoolException;
import java.io.InputStream;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The queue: commit, schedule, deliver, settle and bounce (Postfix's cleanup, qmgr and bounce), behind one lifecycle.
 * {@link #submit} commits a received message to the spool ({@link Commit}; the receive stage answers 250 only
 * after it returns) and wakes the {@link Scheduler} at once. The scheduler keeps a bounded active window of at most
 * {@code maxConcurrent} deliveries and fills it fairly: it alternates between new mail (a FIFO of incoming
 * messages) and deferred mail that is due (a heap ordered by due time), so a backlog of either never starves the
 * other. Each report is applied per recipient: delivered ones are done, transient failures are deferred by the
 * {@link RetryPolicy} (or expire at the end of the lifetime), permanent failures go to failed/ and their sender
 * gets a delivery status notification ({@link Bounce}; never for a null sender: a bounce never bounces), and with
 * {@code queue.delay-warning} the sender of a message still undelivered after that time gets one warning
 * ({@link DelayWarning}).
 *
 * <p>Deferred mail whose route has every upstream's circuit open waits for a circuit, not for a clock (the report's
 * {@link DeliveryReport.CircuitWait}, kept by {@link CircuitWaits}): a delivery the circuits skipped is no attempt,
 * a circuit that closes makes all of them due at once, and an operator's retry lets the open circuits probe at once.
 */
public final class QueueManager implements AutoCloseable {
    /**
     * The logger of every stage of the queue: their lines keep the name they had when one class held them all
     * (operators grep for it; the text format prints it on every line).
     */
    static final Logger LOG = LoggerFactory.getLogger(QueueManager.class);
    private static final Logger log = LOG;
    public static final Duration DEFAULT_FAILED_RETENTION = Duration.ofDays(7);
    static final Duration SWEEP_INTERVAL = FailedSweep.INTERVAL;
    static final int FLOW_BACKLOG = InflowGate.BACKLOG;

    /**
     * What happens to permanent failures, and to mail delayed long.
     *
     * @param send         queue a DSN to the sender (true) or only log it; delay warnings alike
     * @param reportingMta the host name in the DSN ({@code MAILER-DAEMON@<it>}, Reporting-MTA)
     * @param delayWarning how long after its receipt a message still undelivered gets its sender one delay warning
     *                     ({@link DelayWarning}); null: never
     */
    public record Bounces(boolean send, String reportingMta, Duration delayWarning) {
        /** Without delay warnings. */
        public Bounces(boolean send, String reportingMta) {
            this(send, reportingMta, null);
        }

        public static Bounces logOnly() {
            return new Bounces(false, "localhost");
        }
    }

    private final QueueParts parts;
    private final InflowGate gate;
    private final Commit commit;
    private final Dispatch dispatch;
    private final FailedSweep sweep;
    private final DelayWarning warnings;

    /**
     * The one constructor: production and tests alike pass the clock, so a test moves time instead of waiting.
     *
     * @param clock           the time of receipts, attempts, backoffs and expiry
     * @param retry           when a transient failure is retried, and the lifetime
     * @param maxConcurrent   the active window: deliveries in flight at most
     * @param failedRetention how long a failed message stays in failed/ (after its last attempt) before it is
     *                        removed; swept at start and every {@link #SWEEP_INTERVAL}
     */
    public QueueManager(Spool spool, DeliveryEngine engine, InstantSource clock, RetryPolicy retry,
                        int maxConcurrent, QueueListener listener, Bounces bounces, Duration failedRetention) {
        this(spool, engine, clock, retry, maxConcurrent, listener, bounces, failedRetention, retry.maxLifetime());
    }

    /**
     * As above, with {@code accountProblemLifetime}: how long after receipt a message deferred for a reply about the
     * relay's account (see {@link dev.relay.core.delivery.AccountReplies}) is retried before it expires.
     */
    public QueueManager(Spool spool, DeliveryEngine engine, InstantSource clock, RetryPolicy retry,
                        int maxConcurrent, QueueListener listener, Bounces bounces, Duration failedRetention,
                        Duration accountProblemLifetime) {
        if (maxConcurrent < 1) {
            throw new IllegalArgumentException("maxConcurrent must be at least 1");
        }
        this.gate = new InflowGate(listener);
        Scheduler scheduler = new Scheduler(spool, engine, clock, gate);
        this.parts = new QueueParts(spool, clock, scheduler, engine, listener, retry);
        this.commit = new Commit(parts, gate);
        Bounce bounce = new Bounce(spool, listener, bounces, scheduler::enqueueFresh);
        this.warnings = new DelayWarning(parts, bounces.delayWarning(), bounce);
        Settle settle = new Settle(parts, bounce, warnings, accountProblemLifetime);
        this.dispatch = new Dispatch(parts, settle, maxConcurrent);
        this.sweep = new FailedSweep(parts, failedRetention);
    }

    /** Schedules what the spool holds (incoming now, deferred at their time) and starts delivering. */
    public void start() throws SpoolException {
        parts.engine().watchCircuits(parts.scheduler()::circuitChanged);
        for (QueueId id : parts.spool().list(QueueState.INCOMING)) {
            parts.scheduler().enqueueFresh(id);
        }
        for (QueueId id : parts.spool().list(QueueState.DEFERRED)) {
            Optional<Spool.Stored> s = parts.spool().load(QueueState.DEFERRED, id);
            if (s.isPresent()) {
                parts.scheduler().enqueueDeferred(id, s.get().envelope().nextAttempt());
                warnings.watch(s.get().envelope());
            }
        }
        if (parts.scheduler().queued() > 0) {
            log.info("queue: {} messages to deliver from the spool", parts.scheduler().queued());
        }
        gate.open();
        dispatch.start();
        sweep.start();
        warnings.start();
    }

    /** Removes dead letters older than the retention; returns how many. */
    int sweepFailed() {
        return sweep.sweep();
    }

    /**
     * Commits a message durably and schedules it for immediate delivery. When this returns the message will be
     * delivered or failed, even across a crash; when it throws, nothing was stored.
     */
    public QueueId submit(MailAddress sender, List<MailAddress> recipients, String submitter, InputStream body)
            throws SpoolException {
        return commit.submit(sender, recipients, submitter, false, body);
    }

    /**
     * As {@link #submit(MailAddress, List, String, InputStream)}, for a client that asked for SMTPUTF8 on MAIL FROM
     * when {@code smtputf8}: the message is then only relayed to an upstream offering SMTPUTF8.
     */
    public QueueId submit(MailAddress sender, List<MailAddress> recipients, String submitter, boolean smtputf8,
                          InputStream body) throws SpoolException {
        return commit.submit(sender, recipients, submitter, smtputf8, body);
    }

    /** Submissions in an in-flow pause right now (tests wait for one instead of guessing how long it takes). */
    int submissionsPaused() {
        return gate.paused();
    }

    /** Messages waiting or being delivered (incoming, active and deferred; not hold or failed). */
    public int queued() {
        return parts.scheduler().queued();
    }

    /** The operator's view and controls of this queue. */
    public QueueAdmin admin() {
        return new QueueAdmin(parts);
    }

    /** The queue's side of a hand-off by hand while the relay runs ({@link HandoffClaims}). */
    public HandoffClaims handoffClaims() {
        return new HandoffClaims(parts.scheduler(), warnings::watch);
    }

    InstantSource clock() {
        return parts.clock();
    }

    /** Wakes the scheduler to look at the clock again (tests with a fake clock call it after advancing). */
    void wake() {
        parts.scheduler().wake();
        warnings.wake();
    }

    /** Sets how long after a failed recording of an outcome the message is taken up again (tests shorten it). */
    void outcomeRetryDelay(Duration delay) {
        dispatch.outcomeRetryDelay = delay;
    }

    /**
     * Stops scheduling and waits up to {@code grace} for deliveries in flight. Whatever is not finished stays in
     * the spool (active/ goes back to incoming/ at the next start).
     */
    public void stop(Duration grace) {
        gate.close(); // submitters in an in-flow pause answer now
        sweep.stop();
        warnings.stop();
        dispatch.stop(grace);
    }

    @Override
    public void close() {
        stop(Duration.ofSeconds(10));
    }

}
