/**
 * Stage: queue storage. The spool makes each message durable before the receive stage answers 250: with hard
 * links, one fdatasync of a slot file whose name is already durable (the applier thread makes the message's names
 * durable right after, for many messages at once, and recovery finds a message whose names a crash lost in its
 * slot); without, a body file and an envelope file, fsynced and renamed, directories fsynced, shared by concurrent
 * stores through one committer thread (group commit). It moves envelopes between the
 * {@link dev.relay.core.spool.QueueState} directories atomically. Torn or altered files are recognised by the
 * envelope's checksum and body size and quarantined to corrupt/, never deleted silently; a store refused for lack of
 * storage (free space below the reserve, full disk, unwritable directory) throws
 * {@link dev.relay.core.spool.InsufficientStorageException}.
 */
package dev.relay.core.spool;
