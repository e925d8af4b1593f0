package dev.relay.core.spool;

import java.nio.file.Path;

/**
 * What the spool's parts share: its root directory, the {@link DurableFiles} every write goes through, the free
 * {@link SlotPool slots}, the {@link Applier} that makes new names durable, and the {@link StateDirectories}.
 * {@link Spool} makes them once and hands them together to its recovery, commit path and {@link Remover}.
 */
record SpoolParts(Path root, DurableFiles files, SlotPool slots, Applier applier, StateDirectories states) {
}
