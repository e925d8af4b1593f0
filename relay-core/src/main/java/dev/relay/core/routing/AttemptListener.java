package dev.relay.core.routing;

import dev.relay.core.delivery.DeliveryReport;

/**
 * Told about every delivery attempt the routing engine made through one upstream (not those the upstream's engine
 * declined without trying: its rate limit used up, or closed), e.g. for per-upstream metrics. Called on the thread
 * that completed the attempt (a Netty event loop): implementations are fast and never throw.
 */
@FunctionalInterface
public interface AttemptListener {
    /**
     * @param upstream the upstream's name
     * @param report   its outcome per recipient (the reply, or why there was none)
     * @param nanos    from handing the message to the upstream's engine to its report
     */
    void attempted(String upstream, DeliveryReport report, long nanos);
}
