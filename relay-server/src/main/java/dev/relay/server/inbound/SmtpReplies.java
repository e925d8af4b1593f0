package dev.relay.server.inbound;

import org.subethamail.smtp.RejectException;

/**
 * Every reply the relay itself gives a submitting client, with its enhanced status code (RFC 3463), in one
 * table so that codes stay consistent.
 */
public enum SmtpReplies {
    AUTH_REQUIRED(530, "5.7.0 Authentication required"),
    BAD_SENDER_SYNTAX(501, "5.1.7 Bad sender address syntax"),
    BAD_RECIPIENT_SYNTAX(501, "5.1.3 Bad recipient address syntax"),
    NOT_QUEUED(451, "4.3.0 Local error in processing: message not queued, try again later"),
    INSUFFICIENT_STORAGE(452, "4.3.1 Insufficient system storage"),
    QUEUED(250, "2.0.0 Ok: queued as %s"),
    SHUTTING_DOWN(421, "4.3.2 Service shutting down, try again later");

    private final int code;
    private final String text;

    SmtpReplies(int code, String text) {
        this.code = code;
        this.text = text;
    }

    public int code() {
        return code;
    }

    /** The text after the code, with {@code args} filled in. */
    public String text(Object... args) {
        return args.length == 0 ? text : String.format(text, args);
    }

    public RejectException reject() {
        return new RejectException(code, text);
    }
}
