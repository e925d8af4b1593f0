package dev.relay.core.delivery;

/**
 * What became of one recipient in one delivery attempt. {@code detail} is the upstream's reply (code, enhanced
 * status code and text) or, when there was no reply, a short description of the failure; it goes to logs and
 * bounces and never contains credentials.
 */
public sealed interface Outcome {
    String detail();

    /** The upstream accepted responsibility (2xx after DATA). */
    record Delivered(String detail) implements Outcome {}

    /**
     * Try again later: a 4xx reply, a connection, TLS or timeout failure, or a reply about the relay's account at
     * the upstream (any code, see {@link AccountReplies}).
     *
     * @param account null, or what the account reply table made of the reply: the message waits (and, when
     *                {@link AccountReplies.Verdict#deferFor} is set, no sooner than that), it never bounces for it
     */
    record TransientFailure(String detail, AccountReplies.Verdict account) implements Outcome {
        public TransientFailure(String detail) {
            this(detail, null);
        }
    }

    /** Never try again: a 5xx reply that is not about the relay's account, or a message the upstream cannot take. */
    record PermanentFailure(String detail) implements Outcome {}
}
