package dev.relay.core.spool;

/**
 * The spool refused or failed a store for lack of storage: free space below the configured reserve, a full disk or
 * quota, or a spool directory the relay may not write. Nothing of the message is visible; the condition is expected
 * to clear by itself (space freed, permissions fixed), so the receive stage answers with a transient 452.
 */
public final class InsufficientStorageException extends SpoolException {
    public InsufficientStorageException(String message, Throwable cause) {
        super(message, cause);
    }

    public InsufficientStorageException(String message) {
        super(message);
    }
}
