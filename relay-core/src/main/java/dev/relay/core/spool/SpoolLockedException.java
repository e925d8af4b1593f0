package dev.relay.core.spool;

/**
 * The spool is in use by another process (its lock is held): a relay is running on it. Commands that can reach a
 * running relay through its admin API instead ({@code relay queue handoff}) tell it apart from other failures.
 */
public final class SpoolLockedException extends SpoolException {
    public SpoolLockedException(String message) {
        super(message);
    }
}
