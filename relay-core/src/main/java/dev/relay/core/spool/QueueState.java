package dev.relay.core.spool;

import java.util.Locale;

/**
 * The states a queued message moves through. Each is a directory of envelope files under the spool root, and the
 * same lower-case name is used in logs and metric tags.
 */
public enum QueueState {
    /** Committed and acknowledged with 250, waiting for its first delivery attempt. */
    INCOMING,
    /** Handed to the delivery stage; moved back to incoming at start after a crash. */
    ACTIVE,
    /** A delivery attempt failed transiently; due again at the envelope's next-attempt time. */
    DEFERRED,
    /** Put aside by an operator: never scheduled until released (back to incoming). */
    HOLD,
    /** Delivery failed permanently; kept for inspection (dead letters). */
    FAILED,
    /** A file that could not be read back; quarantined, never deleted silently. */
    CORRUPT;

    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
