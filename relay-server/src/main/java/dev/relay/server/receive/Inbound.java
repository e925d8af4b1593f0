package dev.relay.server.receive;

import dev.relay.server.receive.tls.ServerTls;
import dev.relay.config.LimitsConfig;
import dev.relay.core.auth.AuthListener;
import dev.relay.core.auth.AuthThrottle;
import dev.relay.core.auth.UserQuotas;
import dev.relay.core.queue.QueueManager;
import java.time.InstantSource;
import java.util.Objects;

/**
 * What every listener shares: host name, policy, limits, the AUTH failure throttle (shared, so that a client
 * cannot escape its lockout by changing ports), the per-user quotas, the queue and the metrics listeners.
 *
 * <p>The limits can change while the relay runs ({@link #limits(LimitsConfig)}, a configuration reload): every
 * check reads {@link #limits()} when it runs, so open sessions stay open and their next command or transaction
 * uses the new values. {@code max-connections} and {@code idle-timeout} size the listeners and apply at the next
 * start.
 */
public final class Inbound {
    private final String hostname;
    private final ServerTls tls;
    private final SubmissionPolicy policy;
    private final AuthThrottle throttle;
    private final AuthListener authListener;
    private final QueueManager queue;
    private final UserQuotas quotas;
    private final Refusal.Listener refusals;
    private volatile LimitsConfig limits;
    private volatile boolean draining;
    private volatile int maxHandoffHops = 3;
    private volatile dev.relay.history.Receipt.Log receipts = dev.relay.history.Receipt.Log.NONE;

    /** @param tls the server certificate, or null when every listener is {@code tls: none} */
    public Inbound(String hostname, ServerTls tls, SubmissionPolicy policy, LimitsConfig limits,
                   AuthThrottle throttle, AuthListener authListener, QueueManager queue, UserQuotas quotas,
                   Refusal.Listener refusals) {
        this.hostname = hostname;
        this.tls = tls;
        this.policy = policy;
        this.limits = Objects.requireNonNull(limits, "limits");
        this.throttle = throttle;
        this.authListener = authListener;
        this.queue = queue;
        this.quotas = quotas;
        this.refusals = refusals;
    }

    /** Without quota and refusal listener arguments: the quotas of {@code limits}, refusals not counted. */
    public Inbound(String hostname, ServerTls tls, SubmissionPolicy policy, LimitsConfig limits,
                   AuthThrottle throttle, AuthListener authListener, QueueManager queue) {
        this(hostname, tls, policy, limits, throttle, authListener, queue, new UserQuotas(InstantSource.system(),
                limits.userMessagesPerMinute(), limits.userRecipientsPerDay()), Refusal.Listener.NONE);
    }

    /**
     * Applies new limits to every listener at once, and to the AUTH throttle and the per-user quotas (what they
     * counted so far stays). Sessions in a transaction may see the new values from their next command on.
     */
    public void limits(LimitsConfig next) {
        Objects.requireNonNull(next, "limits");
        throttle.settings(next.authMaxFailures(), next.authLockout(), next.authFailureDelay());
        quotas.limits(next.userMessagesPerMinute(), next.userRecipientsPerDay());
        limits = next;
    }

    /** The limits now in force. */
    public LimitsConfig limits() {
        return limits;
    }

    public String hostname() {
        return hostname;
    }

    public ServerTls tls() {
        return tls;
    }

    public SubmissionPolicy policy() {
        return policy;
    }

    public AuthThrottle throttle() {
        return throttle;
    }

    public AuthListener authListener() {
        return authListener;
    }

    public QueueManager queue() {
        return queue;
    }

    public UserQuotas quotas() {
        return quotas;
    }

    public Refusal.Listener refusals() {
        return refusals;
    }

    /** The stop has begun: a message handed off by another replica is refused with a 4xx from now on. */
    public void drain() {
        draining = true;
    }

    public boolean draining() {
        return draining;
    }

    /** A message handed off more than {@code hops} times is refused ({@code handoff.max-hops}). */
    public void maxHandoffHops(int hops) {
        maxHandoffHops = hops;
    }

    public int maxHandoffHops() {
        return maxHandoffHops;
    }

    /** Where each message's receipt (listener, client, user, TLS, Message-ID) goes: the message history. */
    public void receipts(dev.relay.history.Receipt.Log log) {
        receipts = Objects.requireNonNull(log, "receipts");
    }

    public dev.relay.history.Receipt.Log receipts() {
        return receipts;
    }
}
