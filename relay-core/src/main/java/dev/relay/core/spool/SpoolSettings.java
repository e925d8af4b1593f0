package dev.relay.core.spool;

/**
 * How the spool guards its storage.
 *
 * @param minFreeSpace bytes that must stay free on the spool's file system: below it new messages are refused
 *                     with {@link InsufficientStorageException} before the disk is actually full; 0 turns the check
 *                     off
 */
public record SpoolSettings(long minFreeSpace) {
    public static final long DEFAULT_MIN_FREE_SPACE = 256L * 1024 * 1024;

    public SpoolSettings {
        if (minFreeSpace < 0) {
            throw new IllegalArgumentException("minFreeSpace must not be negative");
        }
    }

    public static SpoolSettings defaults() {
        return new SpoolSettings(DEFAULT_MIN_FREE_SPACE);
    }
}
