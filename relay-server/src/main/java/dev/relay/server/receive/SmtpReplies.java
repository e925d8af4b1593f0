package dev.relay.server.receive;

import org.subethamail.smtp.RejectException;

/**
 * Every reply the relay gives a submitting client, with its enhanced status code (RFC 3463, announced as
 * ENHANCEDSTATUSCODES), in one table so that codes stay consistent. Only the greeting, the EHLO/HELO answers and
 * the AUTH challenges (334) carry none, as RFC 2034 and RFC 4954 say. Three replies still come from subethasmtp's
 * session loop, without an enhanced code, and the connection then closes: {@code 501 Syntax error ... CR and LF
 * must be CRLF paired} for a command line with a bare CR or LF, {@code 501 Input line length is too long!} for one
 * of 998 characters or more, and {@code 501 Syntax error: invalid character encoding.} for one that is not valid
 * UTF-8 (InboundSubmissionTest checks them). Its command table answers an unknown verb with
 * {@code 500 Error: command not implemented} and a line shorter than four characters with
 * {@code 500 Error: bad syntax}; the session goes on. subethasmtp 7.2.2 has no hook for any of these: its
 * {@code Session} and {@code CommandHandler} are final, the server builds its own command table, and the session
 * loop catches the line reader's errors itself. (Its {@code 421 Timeout waiting for data from client.} remains
 * only as a backstop: the relay's own idle timeout, {@link #IDLE_TIMEOUT}, comes first; see
 * {@link SessionDeadlines}.)
 */
public enum SmtpReplies {
    // session
    TOO_MANY_CONNECTIONS(421, "4.7.0 Too many connections, try again later"),
    TOO_MANY_CONNECTIONS_FROM_CLIENT(421, "4.7.0 Too many connections from your address, try again later"),
    TOO_MANY_MESSAGES(421, "4.7.0 Too many messages in one connection, reconnect to send more"),
    TOO_MANY_COMMANDS(421, "4.7.0 Too many commands before MAIL, closing connection"),
    DATA_TIMEOUT(421, "4.4.2 Timeout: the message data took too long, closing connection"),
    IDLE_TIMEOUT(421, "4.4.2 Idle timeout: no command for too long, closing connection"),
    SHUTTING_DOWN(421, "4.3.2 Service shutting down, try again later"),
    OK(250, "2.0.0 Ok"),
    BYE(221, "2.0.0 Bye"),
    HELP(214, "2.0.0 Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA RSET NOOP QUIT"),
    VRFY(252, "2.5.0 Cannot VRFY user, but will accept message and attempt delivery"),
    NOT_IMPLEMENTED(502, "5.5.1 Command not implemented"),
    BDAT_NOT_SUPPORTED(502, "5.5.1 BDAT is not supported: use DATA"),
    NO_PARAMETERS(501, "5.5.4 Syntax error: no parameters allowed"),
    EHLO_SYNTAX(501, "5.5.4 Syntax: EHLO hostname"),
    HELO_SYNTAX(501, "5.5.4 Syntax: HELO hostname"),
    // TLS
    TLS_REQUIRED(530, "5.7.0 Must issue a STARTTLS command first"),
    TLS_READY(220, "2.0.0 Ready to start TLS"),
    TLS_ALREADY_ACTIVE(503, "5.5.1 TLS already active"),
    TLS_NOT_AVAILABLE(502, "5.5.1 STARTTLS not available on this port"),
    // AUTH
    AUTH_REQUIRED(530, "5.7.0 Authentication required"),
    USER_REMOVED(530, "5.7.0 Authentication required: user %s is no longer in the users file"),
    CREDENTIALS_CHANGED(421, "4.7.0 The credentials of user %s changed: authenticate again"),
    AUTH_SUCCEEDED(235, "2.7.0 Authentication successful"),
    AUTH_INVALID(535, "5.7.8 Authentication credentials invalid"),
    AUTH_LOCKED_OUT(454, "4.7.0 Too many failed authentication attempts, try again later"),
    AUTH_CANCELLED(501, "5.0.0 Authentication cancelled"),
    AUTH_SYNTAX(501, "5.5.2 Syntax: AUTH mechanism [initial-response]"),
    AUTH_BAD_RESPONSE(501, "5.5.2 Cannot decode the response"),
    AUTH_MECHANISM_UNSUPPORTED(504, "5.5.4 Unrecognized authentication type: use PLAIN or LOGIN"),
    AUTH_ALREADY(503, "5.5.1 Already authenticated"),
    AUTH_IN_TRANSACTION(503, "5.5.1 AUTH is not allowed during a mail transaction"),
    AUTH_NOT_AVAILABLE(502, "5.5.1 AUTH not available: no users are configured"),
    AUTH_CHALLENGE(334, ""),
    AUTH_LOGIN_USERNAME(334, "VXNlcm5hbWU6"),
    AUTH_LOGIN_PASSWORD(334, "UGFzc3dvcmQ6"),
    // envelope
    MAIL_OK(250, "2.1.0 Ok"),
    RCPT_OK(250, "2.1.5 Ok"),
    MAIL_SYNTAX(501, "5.5.4 Syntax: MAIL FROM:<address> [parameters]"),
    RCPT_SYNTAX(501, "5.5.4 Syntax: RCPT TO:<address> [parameters]"),
    UNSUPPORTED_PARAMETER(555, "5.5.4 Unsupported parameter: %s"),
    SENDER_ALREADY_GIVEN(503, "5.5.1 Sender already specified"),
    NEED_MAIL(503, "5.5.1 Need MAIL command first"),
    NEED_RCPT(503, "5.5.1 Need RCPT command first"),
    BAD_SENDER_SYNTAX(501, "5.1.7 Bad sender address syntax"),
    BAD_RECIPIENT_SYNTAX(501, "5.1.3 Bad recipient address syntax"),
    SENDER_NOT_OWNED(553, "5.7.1 Sender address rejected: not owned by user %s"),
    HEADER_FROM_NOT_OWNED(553, "5.7.1 Header From not owned by user %s"),
    HEADER_SENDER_NOT_OWNED(553, "5.7.1 Header Sender not owned by user %s"),
    HEADER_FIELD_REPEATED(550, "5.6.0 More than one %s header field"),
    HEADER_FROM_MALFORMED(550, "5.6.0 Header From is not a valid RFC 5322 mailbox list"),
    HEADER_SENDER_MALFORMED(550, "5.6.0 Header Sender is not a single valid RFC 5322 mailbox"),
    HEADER_SENDER_MISSING(550, "5.6.0 Header From with more than one mailbox needs a Sender field"),
    SENDER_NOT_TRUSTED(553, "5.7.1 Sender address rejected: not allowed from this network"),
    RECIPIENT_NOT_ALLOWED(550, "5.7.1 Recipient address rejected: user %s may not send to this domain"),
    TOO_MANY_RECIPIENTS(452, "4.5.3 Too many recipients"),
    USER_MESSAGE_RATE(450, "4.7.1 Too many messages from user %s in the last minute, try again later"),
    USER_RECIPIENT_QUOTA(450, "4.7.1 Recipient quota of user %s for 24 hours reached, try again later"),
    // data
    START_DATA(354, "End data with <CR><LF>.<CR><LF>"),
    MESSAGE_TOO_BIG(552, "5.3.4 Message size exceeds fixed limit"),
    LINE_TOO_LONG(500, "5.5.2 Line too long: message lines may have at most 998 characters (RFC 5322), "
            + "encode long lines as quoted-printable or base64"),
    HANDOFF_UNAUTHENTICATED(550, "5.7.1 X-Relay-Handoff is accepted only from an authenticated user: remove the "
            + "header field"),
    HANDOFF_LOOP(554, "5.4.6 Routing loop: handed off %d times, more than the limit of %d"),
    HANDOFF_DRAINING(451, "4.3.2 This relay is stopping and takes no hand-off: try another replica"),
    NOT_QUEUED(451, "4.3.0 Local error in processing: message not queued, try again later"),
    INSUFFICIENT_STORAGE(452, "4.3.1 Insufficient system storage"),
    QUEUED(250, "2.0.0 Ok: queued as %s");

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

    /** The whole reply line: code and text. */
    public String line(Object... args) {
        return code + " " + text(args);
    }

    public RejectException reject(Object... args) {
        return new RejectException(code, text(args));
    }

    /** The multi-line EHLO reply: the host name, then one keyword per line (RFC 5321 section 4.1.1.1). */
    static String ehlo(String hostname, java.util.List<String> keywords) {
        StringBuilder sb = new StringBuilder();
        sb.append(250).append(keywords.isEmpty() ? ' ' : '-').append(hostname);
        for (int i = 0; i < keywords.size(); i++) {
            sb.append("\r\n250").append(i == keywords.size() - 1 ? ' ' : '-').append(keywords.get(i));
        }
        return sb.toString();
    }
}
