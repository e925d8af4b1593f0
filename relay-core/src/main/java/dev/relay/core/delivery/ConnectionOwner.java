package dev.relay.core.delivery;

/** Where an idle connection goes, and who hears that the upstream asks us to slow down. */
interface ConnectionOwner {
    /** The connection finished a transaction (or its session) cleanly and can take another message. */
    void idle(SmtpClientHandler connection);

    /**
     * A reused connection died before the upstream answered anything of {@code job}'s transaction (the
     * upstream had closed it meanwhile): nothing was delivered, so the job goes to another connection.
     */
    void retry(DeliveryJob job);

    /** The upstream answered with a throttling reply ({@link SmtpReply#isThrottling}). */
    void throttled(SmtpReply reply);

    /** The upstream answered with a reply about the relay's account that {@link AccountReplies.Verdict#alerts}. */
    default void accountProblem(AccountReplies.Verdict verdict, SmtpReply reply) {
    }

    /** A transaction delivered to at least one recipient: whatever was wrong with the account is over. */
    default void delivered() {
    }
}
