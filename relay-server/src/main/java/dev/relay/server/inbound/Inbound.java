package dev.relay.server.inbound;

import dev.relay.config.LimitsConfig;
import dev.relay.core.auth.AuthListener;
import dev.relay.core.auth.AuthThrottle;
import dev.relay.core.queue.QueueManager;

/**
 * What every listener shares: host name, policy, limits, the AUTH failure throttle (shared, so that a client
 * cannot escape its lockout by changing ports), the queue and the metrics listener.
 *
 * @param tls the server certificate, or null when every listener is {@code tls: none}
 */
public record Inbound(String hostname, ServerTls tls, SubmissionPolicy policy, LimitsConfig limits,
                      AuthThrottle throttle, AuthListener authListener, QueueManager queue) {
}
