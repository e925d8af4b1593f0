package dev.relay.core.queue;

import dev.relay.core.delivery.DeliveryEngine;
import dev.relay.core.spool.Spool;
import java.time.InstantSource;

/**
 * What the queue's stages share: the spool, the clock, the {@link Scheduler}, the delivery engine, the listener of
 * queue events and the {@link RetryPolicy} (its lifetime is also the delay warnings' {@code Will-Retry-Until}).
 * {@link QueueManager} makes it once and passes it whole, so that a stage's constructor takes only what is its own
 * (a retention, the stage after it).
 */
record QueueParts(Spool spool, InstantSource clock, Scheduler scheduler, DeliveryEngine engine,
                  QueueListener listener, RetryPolicy retry) {
}
