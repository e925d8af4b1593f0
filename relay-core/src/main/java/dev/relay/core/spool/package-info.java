/**
 * Stage: commit (and the queue's storage). Job: make each message durable before the receive stage answers, keep
 * it in its {@link dev.relay.core.spool.QueueState} directory, move it between them, and give it back after a
 * crash. Guarantee: {@code 250} only after the message is durable; a crash at any point leaves either a visible,
 * whole message or nothing visible; a message's entry is never removed before its names are durable, so a
 * delivered message does not come back.
 *
 * <p>The parts, each with one job ({@link dev.relay.core.spool.Spool} puts them together and is the only public
 * door besides the value types):
 * <ul>
 *   <li>{@code SpoolRecovery}: at open, after the lock: crash recovery and removal of an older layout.</li>
 *   <li>{@code CommitPath}: the commit, one of two chosen at open. {@code SlotCommit} where the file system has hard
 *       links: one fdatasync of a file whose name is already durable, from the {@code SlotPool}; the
 *       {@code Applier} thread then makes the message's names durable for many messages at once and moves the
 *       checkpoint. {@code EnvelopeFileCommit} where it has none: body and envelope files, made visible by the
 *       {@code GroupCommitter} with one directory fsync for all sessions ready.</li>
 *   <li>{@code StateDirectories}: read an entry back, list, move, replace an envelope, quarantine what does not
 *       read back to corrupt/ (never deleted silently).</li>
 *   <li>{@code Remover}: finished messages, batched for active/.</li>
 *   <li>{@code StorageGuard}: refuses a store for lack of storage (free space below the reserve, full disk,
 *       unwritable directory) with {@link dev.relay.core.spool.InsufficientStorageException}.</li>
 *   <li>{@code DurableFiles}, {@code SpoolFiles}, {@link dev.relay.core.spool.EnvelopeCodec}: fsync, rename and
 *       private creation; the on-disk formats.</li>
 * </ul>
 * Readers of a message's content use a {@link dev.relay.core.spool.Body}, which reads the message and nothing of
 * what the spool keeps after it.
 */
package dev.relay.core.spool;
