package dev.relay.core.model;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What the queue knows about a message besides its content: who sent it to whom, who submitted it, and where it
 * is in its delivery life.
 *
 * @param id          the queue id
 * @param sender      the envelope sender (MAIL FROM); {@link MailAddress#NULL_SENDER} for bounces
 * @param recipients  the envelope recipients still to deliver to (RCPT TO), at least one
 * @param receivedAt  when the relay acknowledged the message
 * @param submitter   the authenticated user, or "" for a trusted-network submission
 * @param attempts    delivery attempts made so far
 * @param nextAttempt earliest time of the next attempt
 * @param lastError   the reason of the last failed attempt, or "" (for logs and the queue listing)
 * @param smtputf8    the client asked for SMTPUTF8 (RFC 6531) on MAIL FROM: the message may carry UTF-8 headers,
 *                    so it can only be relayed to an upstream that offers SMTPUTF8
 * @param delayWarned the sender was told that the message is delayed ({@code queue.delay-warning}): at most one
 *                    warning per message, so this stays set across deferrals and restarts
 */
public record Envelope(QueueId id, MailAddress sender, List<MailAddress> recipients, Instant receivedAt,
                       String submitter, int attempts, Instant nextAttempt, String lastError,
                       boolean smtputf8, boolean delayWarned) {
    public Envelope {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(sender, "sender");
        recipients = List.copyOf(recipients);
        if (recipients.isEmpty()) {
            throw new IllegalArgumentException("an envelope needs at least one recipient");
        }
        Objects.requireNonNull(receivedAt, "receivedAt");
        Objects.requireNonNull(submitter, "submitter");
        if (attempts < 0) {
            throw new IllegalArgumentException("attempts must not be negative");
        }
        Objects.requireNonNull(nextAttempt, "nextAttempt");
        Objects.requireNonNull(lastError, "lastError");
    }

    /** An envelope not delay-warned yet (the signature before {@code delayWarned} existed). */
    public Envelope(QueueId id, MailAddress sender, List<MailAddress> recipients, Instant receivedAt,
                    String submitter, int attempts, Instant nextAttempt, String lastError, boolean smtputf8) {
        this(id, sender, recipients, receivedAt, submitter, attempts, nextAttempt, lastError, smtputf8, false);
    }

    /** An envelope without the SMTPUTF8 need (the signature before {@code smtputf8} existed). */
    public Envelope(QueueId id, MailAddress sender, List<MailAddress> recipients, Instant receivedAt,
                    String submitter, int attempts, Instant nextAttempt, String lastError) {
        this(id, sender, recipients, receivedAt, submitter, attempts, nextAttempt, lastError, false);
    }

    public static Envelope received(QueueId id, MailAddress sender, List<MailAddress> recipients, Instant now,
                                    String submitter) {
        return received(id, sender, recipients, now, submitter, false);
    }

    public static Envelope received(QueueId id, MailAddress sender, List<MailAddress> recipients, Instant now,
                                    String submitter, boolean smtputf8) {
        return new Envelope(id, sender, recipients, now, submitter, 0, now, "", smtputf8);
    }

    /** This envelope after a failed attempt, due again at {@code next}, for the {@code remaining} recipients. */
    public Envelope deferred(List<MailAddress> remaining, Instant next, String error) {
        return new Envelope(id, sender, remaining, receivedAt, submitter, attempts + 1, next, error, smtputf8,
                delayWarned);
    }

    /**
     * This envelope after a delivery that made no attempt (every upstream's circuit was open), due again at
     * {@code next}: the attempts stay as they were.
     */
    public Envelope notAttempted(List<MailAddress> remaining, Instant next, String error) {
        return new Envelope(id, sender, remaining, receivedAt, submitter, attempts, next, error, smtputf8,
                delayWarned);
    }

    /** This envelope once its sender was warned that the message is delayed. */
    public Envelope withDelayWarned() {
        return new Envelope(id, sender, recipients, receivedAt, submitter, attempts, nextAttempt, lastError, smtputf8,
                true);
    }
}
