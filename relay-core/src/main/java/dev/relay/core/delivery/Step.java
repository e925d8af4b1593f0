package dev.relay.core.delivery;

/**
 * Where a connection's conversation with the upstream is ({@link SmtpClientHandler}): what it waits for, so that a
 * reply goes to the right handler and a timeout or a dropped connection can say what it interrupted. {@code phase}
 * names the step in "connection closed during ..." details, {@code waitingFor} in "timeout waiting for ...".
 */
enum Step {
    GREETING("greeting", "greeting"),
    EHLO("EHLO", "EHLO reply"),
    HELO("HELO", "HELO reply"),
    STARTTLS("STARTTLS", "STARTTLS reply"),
    TLS_HANDSHAKE("TLS handshake", "TLS handshake"),
    AUTH_TOKEN("AUTH", "OAuth2 access token"),
    AUTH_XOAUTH2("AUTH", "AUTH XOAUTH2 reply"),
    AUTH("AUTH", "AUTH reply"),
    AUTH_LOGIN_USER("AUTH", "AUTH LOGIN username prompt"),
    AUTH_LOGIN_PASS("AUTH", "AUTH LOGIN password prompt"),
    DOWNGRADE("MAIL FROM", "the check of the conversion to 7 bit"),
    MAIL("MAIL FROM", "MAIL FROM reply"),
    RCPT("RCPT TO", "RCPT TO reply"),
    DATA("DATA", "DATA reply"),
    DATA_BODY("DATA", "message data to be sent"),
    DATA_END("DATA", "end-of-data reply"),
    EMPTY_DATA_END("DATA", "reply to the empty message"),
    RSET("RSET", "RSET reply"),
    IDLE("idle", "a message to send"),
    QUIT("QUIT", "QUIT reply"),
    DONE("end", "nothing");

    final String phase;
    final String waitingFor;

    Step(String phase, String waitingFor) {
        this.phase = phase;
        this.waitingFor = waitingFor;
    }
}
