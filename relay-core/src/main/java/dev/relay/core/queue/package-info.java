/**
 * The queue: six stages, one file each, behind the lifecycle facade {@link dev.relay.core.queue.QueueManager}
 * (Postfix's cleanup, qmgr, bounce and postsuper). What each one guarantees:
 * <ul>
 *   <li><b>commit</b> ({@code Commit}, with the in-flow pause {@code InflowGate}): a message is acknowledged only
 *       after the spool committed it, and is then the scheduler's at once (delivery starts without polling); when
 *       new mail outruns delivery a submission pauses after its commit, for a second at most, never refused.</li>
 *   <li><b>schedule</b> ({@code Scheduler}, with {@code CircuitWaits}; the active window is {@code Dispatch}):
 *       one lock guards the FIFO of new mail, the due-time heap and the ownership map, and every owned message is
 *       in exactly one of them or active; at most a bounded number of deliveries run at once, fed fairly from new
 *       and due deferred mail; mail whose every upstream has an open circuit waits for the circuit, not for a
 *       clock, and goes the moment one closes.</li>
 *   <li><b>settle</b> ({@code Settle}): every committed message is handed to delivery until each recipient is
 *       delivered or failed permanently (5xx, or expired after {@code max-lifetime}); a delivery that made no
 *       attempt (every circuit open, the upstream's rate limit used up, the engine closed) counts none and grows
 *       no backoff, and a used-up rate limit makes it due when the limiter grants again; the spool changes before
 *       the scheduler, so what the scheduler owns is on disk where it says; an outcome that cannot be recorded is
 *       taken up again from the spool, not left active.</li>
 *   <li><b>bounce</b> ({@code Bounce}, {@link dev.relay.core.queue.Dsn}): the sender of permanently failed
 *       recipients gets an RFC 3464 DSN, itself committed durably before the original leaves active/; never for a
 *       null sender (a bounce never bounces).</li>
 *   <li><b>delay warning</b> ({@code DelayWarning}, with {@code queue.delay-warning}): the sender of a message
 *       still undelivered after that time gets one RFC 3464 report with {@code Action: delayed}, recorded in the
 *       envelope so it is never repeated, not across a restart either (a crash between the warning's commit and
 *       that record repeats it; none is lost). It is checked at each deferral and, for a message whose next retry
 *       is later, at the warning time itself by a wake-up held in memory (rebuilt from deferred/ at start): a
 *       periodic sweep would read every deferred envelope each round and still be up to a round late.</li>
 *   <li><b>operate</b> ({@link dev.relay.core.queue.QueueAdmin}, and {@code FailedSweep}): operator actions and
 *       the sweep of old dead letters change the queue only under the scheduler's lock and through its methods,
 *       never around it; a message being delivered is refused, not torn; held messages are never scheduled.</li>
 * </ul>
 * Events go out through {@link dev.relay.core.queue.QueueListener}; backoff and lifetime are
 * {@link dev.relay.core.queue.RetryPolicy}'s.
 */
package dev.relay.core.queue;
