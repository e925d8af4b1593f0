/**
 * Stage: queue storage. The spool stores each message as a body file and an envelope file, durably (fsync and
 * atomic rename, directories fsynced) before the receive stage answers 250, and moves envelopes between the
 * {@link dev.relay.core.spool.QueueState} directories atomically. Torn or altered files are recognised by the
 * envelope's checksum and body size and quarantined to corrupt/, never deleted silently. Concurrent stores share
 * the directory fsyncs through one committer thread (group commit); a store refused for lack of storage (free space
 * below the reserve, full disk, unwritable directory) throws {@link dev.relay.core.spool.InsufficientStorageException}.
 */
package dev.relay.core.spool;
