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
 */
public record Envelope(QueueId id, MailAddress sender, List<MailAddress> recipients, Instant receivedAt,
                       String submitter, int attempts, Instant nextAttempt, String lastError) {
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

    public static Envelope received(QueueId id, MailAddress sender, List<MailAddress> recipients, Instant now,
                                    String submitter) {
        return new Envelope(id, sender, recipients, now, submitter, 0, now, "");
    }

    /** This envelope after a failed attempt, due again at {@code next}, for the {@code remaining} recipients. */
    public Envelope deferred(List<MailAddress> remaining, Instant next, String error) {
        return new Envelope(id, sender, remaining, receivedAt, submitter, attempts + 1, next, error);
    }
}
