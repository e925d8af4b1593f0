package dev.relay.server.inbound;

import dev.relay.config.LimitsConfig;
import dev.relay.core.auth.AuthListener;
import dev.relay.core.auth.AuthThrottle;
import dev.relay.core.auth.UserQuotas;
import dev.relay.core.queue.QueueManager;
import java.time.InstantSource;

/**
 * What every listener shares: host name, policy, limits, the AUTH failure throttle (shared, so that a client
 * cannot escape its lockout by changing ports), the per-user quotas, the queue and the metrics listeners.
 *
 * @param tls the server certificate, or null when every listener is {@code tls: none}
 */
public record Inbound(String hostname, ServerTls tls, SubmissionPolicy policy, LimitsConfig limits,
                      AuthThrottle throttle, AuthListener authListener, QueueManager queue, UserQuotas quotas,
                      Refusal.Listener refusals) {

    /** Without quota and refusal listener arguments: the quotas of {@code limits}, refusals not counted. */
    public Inbound(String hostname, ServerTls tls, SubmissionPolicy policy, LimitsConfig limits,
                   AuthThrottle throttle, AuthListener authListener, QueueManager queue) {
        this(hostname, tls, policy, limits, throttle, authListener, queue, new UserQuotas(InstantSource.system(),
                limits.userMessagesPerMinute(), limits.userRecipientsPerDay()), Refusal.Listener.NONE);
    }
}
