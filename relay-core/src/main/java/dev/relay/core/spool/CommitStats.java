package dev.relay.core.spool;

/**
 * What the spool's commit path has done since the spool was opened.
 *
 * @param batches  rounds of directory fsyncs that made new messages durable in the spool's directories: with hard
 *                 links the applier's rounds, without them the group commit's batches
 * @param messages the messages those rounds made durable; {@code messages / batches} is the mean batch size
 */
public record CommitStats(long batches, long messages) {}
