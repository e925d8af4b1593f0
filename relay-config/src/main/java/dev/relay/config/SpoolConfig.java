package dev.relay.config;

import java.nio.file.Path;

/** @param dir the directory the queued messages are stored in; required */
public record SpoolConfig(Path dir) {
}
