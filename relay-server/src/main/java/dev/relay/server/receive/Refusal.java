package dev.relay.server.receive;

/**
 * Why the relay refused a client, a command or a message because of a limit or a policy; each has a
 * {@code reason} tag of the metric {@code relay.inbound.refused}. AUTH failures have their own metric.
 */
public enum Refusal {
    TOO_MANY_CONNECTIONS("too_many_connections"),
    TOO_MANY_CONNECTIONS_FROM_CLIENT("too_many_connections_from_client"),
    TOO_MANY_MESSAGES("too_many_messages"),
    TOO_MANY_COMMANDS("too_many_commands"),
    DATA_TIMEOUT("data_timeout"),
    IDLE_TIMEOUT("idle_timeout"),
    WRITE_TIMEOUT("write_timeout"),
    AUTH_REQUIRED("auth_required"),
    AUTH_REVOKED("auth_revoked"),
    SENDER_NOT_ALLOWED("sender_not_allowed"),
    HEADER_FROM_NOT_ALLOWED("header_from_not_allowed"),
    HEADER_SENDER_NOT_ALLOWED("header_sender_not_allowed"),
    HEADER_INVALID("header_invalid"),
    RECIPIENT_NOT_ALLOWED("recipient_not_allowed"),
    TOO_MANY_RECIPIENTS("too_many_recipients"),
    MESSAGE_TOO_BIG("message_too_big"),
    LINE_TOO_LONG("line_too_long"),
    USER_MESSAGE_RATE("user_message_rate"),
    USER_RECIPIENT_QUOTA("user_recipient_quota"),
    HANDOFF_UNAUTHENTICATED("handoff_unauthenticated"),
    HANDOFF_LOOP("handoff_loop"),
    HANDOFF_DRAINING("handoff_draining");

    private final String tag;

    Refusal(String tag) {
        this.tag = tag;
    }

    public String tag() {
        return tag;
    }

    /** Receives refusals, for metrics; called on session threads: fast, never throws. */
    public interface Listener {
        Listener NONE = r -> { };

        void refused(Refusal refusal);
    }
}
