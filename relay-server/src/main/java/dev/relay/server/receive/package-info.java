/**
 * The receive stage: SMTP sessions from client applications, on subethasmtp's sockets and threads but with the
 * relay's own commands ({@code SmtpCommands}, {@code AuthCommand}), every reply from one table
 * ({@code SmtpReplies}, each with an enhanced status code).
 *
 * <p>What the stage guarantees:
 * <ul>
 * <li>AUTH is offered and accepted only once TLS is up (STARTTLS or implicit TLS); on a STARTTLS listener AUTH,
 * MAIL, RCPT, DATA, BDAT, VRFY and EXPN get {@code 530 5.7.0} before it;</li>
 * <li>MAIL is refused ({@code 530 5.7.0}) before AUTH unless the client is in {@code auth.trusted-networks}, and a
 * sender, recipient or header {@code From:} the user may not use is refused ({@code SubmissionPolicy});</li>
 * <li>only {@code <CR><LF>.<CR><LF>} ends the data ({@code DataStream}), and a refused message is read to its end
 * before the refusal, so that no part of it is read as commands;</li>
 * <li>{@code 250} after the data only once the spool has committed the message; anything else leaves nothing
 * queued;</li>
 * <li>every session is bounded: connections in all and per client, commands before MAIL, messages per
 * connection, and the idle, data and TLS handshake deadlines, enforced by a sweeper that never writes to a socket
 * ({@code SessionLimits}).</li>
 * </ul>
 * Socket and TLS plumbing (the listening socket, the TLS context and certificates, reply batching, session
 * threads) is in {@link dev.relay.server.receive.tls}.
 */
package dev.relay.server.receive;
