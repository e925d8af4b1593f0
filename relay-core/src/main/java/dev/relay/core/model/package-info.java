/**
 * The message model every stage shares: {@code QueueId} (time-ordered, safe as a file name), {@code MailAddress}
 * (an RFC 5321 path, with the null sender of bounces), {@code Envelope} (sender, recipients, submitter and where the
 * message is in its delivery life) and {@code HeaderAddresses} (the RFC 5322 From/Sender parser policy uses).
 * Guarantees: values are immutable and validated when made, so a stage never meets a malformed address or id.
 */
package dev.relay.core.model;
