package dev.relay.config;

import java.nio.file.Path;

/**
 * @param dir          the directory the queued messages are stored in; required
 * @param minFreeSpace bytes that must stay free on the spool's file system: below it new mail is refused with
 *                     {@code 452 4.3.1} before the disk is actually full; 0 turns the check off; default 256 MiB
 */
public record SpoolConfig(Path dir, long minFreeSpace) {
    public static final long DEFAULT_MIN_FREE_SPACE = 256L * 1024 * 1024;

    /** A spool in {@code dir} with the default free-space reserve. */
    public SpoolConfig(Path dir) {
        this(dir, DEFAULT_MIN_FREE_SPACE);
    }
}
