package dev.relay.server.receive;

import java.util.Locale;

/**
 * Why the relay refused a client, a command or a message because of a limit or a policy; each has a
 * {@code reason} tag of the metric {@code relay.inbound.refused}, its name in lower case. AUTH failures have their
 * own metric.
 */
public enum Refusal {
    TOO_MANY_CONNECTIONS,
    TOO_MANY_CONNECTIONS_FROM_CLIENT,
    TOO_MANY_MESSAGES,
    TOO_MANY_COMMANDS,
    DATA_TIMEOUT,
    IDLE_TIMEOUT,
    WRITE_TIMEOUT,
    AUTH_REQUIRED,
    AUTH_REVOKED,
    SENDER_NOT_ALLOWED,
    HEADER_FROM_NOT_ALLOWED,
    HEADER_SENDER_NOT_ALLOWED,
    HEADER_INVALID,
    RECIPIENT_NOT_ALLOWED,
    TOO_MANY_RECIPIENTS,
    MESSAGE_TOO_BIG,
    LINE_TOO_LONG,
    USER_MESSAGE_RATE,
    USER_RECIPIENT_QUOTA,
    HANDOFF_UNAUTHENTICATED,
    HANDOFF_LOOP,
    HANDOFF_DRAINING;

    /** The {@code reason} tag: the name in lower case, made once. */
    private final String tag = name().toLowerCase(Locale.ROOT);

    public String tag() {
        return tag;
    }

    /** Receives refusals, for metrics; called on session threads: fast, never throws. */
    public interface Listener {
        Listener NONE = r -> { };

        void refused(Refusal refusal);
    }
}
