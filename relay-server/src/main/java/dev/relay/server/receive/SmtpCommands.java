package dev.relay.server.receive;

import dev.relay.config.ListenerConfig;
import dev.relay.config.TlsMode;
import dev.relay.server.receive.tls.BatchingTlsSocket;
import java.io.IOException;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.internal.server.BaseCommand;
import org.subethamail.smtp.internal.server.CommandHandler;
import org.subethamail.smtp.server.Session;

/**
 * The relay's own SMTP commands, installed over subethasmtp's (which keeps the sessions, threads and sockets), so
 * that every reply comes from {@link SmtpReplies} with an enhanced status code, PIPELINING and
 * ENHANCEDSTATUSCODES can be announced truthfully, STARTTLS is required before anything but EHLO, NOOP, RSET and
 * QUIT, SIZE is checked whatever other MAIL parameters follow, and a transaction rejected at the end of data is
 * reset so that the next MAIL works. Commands are processed strictly in order, one line at a time, so pipelined
 * commands (RFC 2920) are answered in order. DATA is {@link DataCommand}, AUTH {@link AuthCommand}; the paths of
 * MAIL and RCPT are read by {@link CommandPath}.
 */
final class SmtpCommands {
    private static final Logger log = LoggerFactory.getLogger(SmtpCommands.class);
    private final ListenerConfig config;
    private final Inbound inbound;
    private final SessionLimits sessions;

    SmtpCommands(ListenerConfig config, Inbound inbound, SessionLimits sessions) {
        this.config = config;
        this.inbound = inbound;
        this.sessions = sessions;
    }

    /** The listener's name, for the log. */
    String listener() {
        return config.name();
    }

    /** True if this is a STARTTLS listener and the session has not started TLS yet. */
    boolean tlsMissing(Session sess) {
        return config.tls() == TlsMode.STARTTLS && !sess.isTLSStarted();
    }

    void install(CommandHandler handler) {
        handler.addCommand(counted(new AuthCommand(this, inbound)));
        handler.addCommand(command("EHLO", this::ehlo));
        handler.addCommand(command("HELO", this::helo));
        handler.addCommand(command("STARTTLS", this::startTls));
        handler.addCommand(command("MAIL", tlsFirst(this::mail)));
        handler.addCommand(command("RCPT", tlsFirst(this::rcpt)));
        handler.addCommand(command("DATA", tlsFirst(new DataCommand(this, inbound, sessions)::run)));
        handler.addCommand(command("BDAT", tlsFirst((c, s) -> s.sendResponse(SmtpReplies.BDAT_NOT_SUPPORTED.line()))));
        handler.addCommand(command("RSET", (c, s) -> {
            s.resetMailTransaction();
            s.sendResponse(SmtpReplies.OK.line());
        }));
        handler.addCommand(command("NOOP", (c, s) -> s.sendResponse(SmtpReplies.OK.line())));
        handler.addCommand(command("QUIT", (c, s) -> {
            s.sendResponse(SmtpReplies.BYE.line());
            s.quit();
        }));
        handler.addCommand(command("VRFY", tlsFirst((c, s) -> s.sendResponse(SmtpReplies.VRFY.line()))));
        handler.addCommand(command("EXPN", tlsFirst((c, s) -> s.sendResponse(SmtpReplies.NOT_IMPLEMENTED.line()))));
        handler.addCommand(command("HELP", (c, s) -> s.sendResponse(SmtpReplies.HELP.line())));
    }

    private interface Action {
        void run(String commandString, Session sess) throws IOException;
    }

    private BaseCommand command(String verb, Action action) {
        return counted(new BaseCommand(verb, verb) {
            @Override
            public void execute(String commandString, Session sess) throws IOException {
                action.run(commandString, sess);
            }
        });
    }

    /**
     * Counts the commands a session sends outside a mail transaction (QUIT aside) since its last accepted MAIL,
     * and closes the session with {@code 421 4.7.0} past {@code limits.max-commands-before-mail}: a client that
     * only talks (NOOP, RSET, EHLO, refused MAILs) is not a submitter. Unknown verbs are answered by subethasmtp
     * (500) and bounded by the idle timeout only. While the listener drains for a stop, a command outside a
     * transaction gets {@code 421 4.3.2} and the session closes (QUIT still gets its 221).
     */
    private BaseCommand counted(BaseCommand inner) {
        return new BaseCommand(inner.getName(), inner.getName()) {
            @Override
            public void execute(String commandString, Session sess)
                    throws IOException, org.subethamail.smtp.DropConnectionException {
                if (!sessions.enter(sess)) {
                    return; // closed by a graceful stop while the command was on its way
                }
                try {
                    limited(commandString, sess);
                } finally {
                    sessions.leave(sess);
                }
            }

            private void limited(String commandString, Session sess)
                    throws IOException, org.subethamail.smtp.DropConnectionException {
                boolean quit = inner.getName().equals("QUIT");
                if (!quit && !sess.isMailTransactionInProgress() && sessions.draining()) {
                    // stopping: no new transaction; one in progress (RCPT, DATA) goes on to its end
                    sess.sendResponse(SmtpReplies.SHUTTING_DOWN.line());
                    sess.quit();
                    return;
                }
                if (!quit && !sess.isMailTransactionInProgress()
                        && ++sessions.state(sess).commandsBeforeMail > inbound.limits().maxCommandsBeforeMail()) {
                    log.info("session from {} on {} closed: more than {} commands before MAIL",
                            sess.getRemoteAddress().getAddress(), listener(), inbound.limits().maxCommandsBeforeMail());
                    refuse(sess, Refusal.TOO_MANY_COMMANDS, SmtpReplies.TOO_MANY_COMMANDS);
                    sess.quit();
                    return;
                }
                inner.execute(commandString, sess);
            }
        };
    }

    private Action tlsFirst(Action action) {
        return (c, s) -> {
            if (tlsMissing(s)) {
                s.sendResponse(SmtpReplies.TLS_REQUIRED.line());
            } else {
                action.run(c, s);
            }
        };
    }

    private void ehlo(String commandString, Session sess) throws IOException {
        if (!greeted(commandString, sess, SmtpReplies.EHLO_SYNTAX)) {
            return;
        }
        List<String> keywords = new ArrayList<>();
        keywords.add("PIPELINING");
        keywords.add("SIZE " + inbound.limits().maxMessageSize());
        keywords.add("8BITMIME");
        keywords.add("SMTPUTF8");
        keywords.add("ENHANCEDSTATUSCODES");
        if (tlsMissing(sess)) {
            keywords.add("STARTTLS");
        } else if (inbound.policy().hasUsers()) {
            keywords.add("AUTH PLAIN LOGIN");
        }
        sess.sendResponse(SmtpReplies.ehlo(inbound.hostname(), keywords));
    }

    /** Counts the refusal ({@code why}, for the metrics) and sends its reply. */
    private void refuse(Session sess, Refusal why, SmtpReplies reply) throws IOException {
        inbound.refusals().refused(why);
        sess.sendResponse(reply.line());
    }

    /**
     * The start EHLO and HELO share: without a domain the {@code syntax} reply and false; else the mail transaction
     * is reset and the domain kept.
     */
    private static boolean greeted(String commandString, Session sess, SmtpReplies syntax) throws IOException {
        String[] args = BaseCommand.getArgs(commandString);
        if (args.length < 2) {
            sess.sendResponse(syntax.line());
            return false;
        }
        sess.resetMailTransaction();
        sess.setHelo(args[1]);
        return true;
    }

    private void helo(String commandString, Session sess) throws IOException {
        if (!greeted(commandString, sess, SmtpReplies.HELO_SYNTAX)) {
            return;
        }
        sess.sendResponse(SmtpReplies.ehlo(inbound.hostname(), List.of()));
    }

    private void startTls(String commandString, Session sess) throws IOException {
        if (!commandString.strip().equalsIgnoreCase("STARTTLS")) {
            sess.sendResponse(SmtpReplies.NO_PARAMETERS.line());
            return;
        }
        if (config.tls() != TlsMode.STARTTLS) {
            sess.sendResponse(sess.isTLSStarted() ? SmtpReplies.TLS_ALREADY_ACTIVE.line()
                    : SmtpReplies.TLS_NOT_AVAILABLE.line());
            return;
        }
        if (sess.isTLSStarted()) {
            sess.sendResponse(SmtpReplies.TLS_ALREADY_ACTIVE.line());
            return;
        }
        sess.sendResponse(SmtpReplies.TLS_READY.line());
        Socket plain = sess.getSocket();
        sessions.handshakeStarted(sess); // bounded as a whole: a trickled handshake is cut
        String protocol = null;
        try {
            // plaintext the client pipelined after STARTTLS stays in the old buffer and is dropped (RFC 3207 sec. 6)
            SSLSocket s = sess.getServer().createSSLSocket(plain);
            s.startHandshake();
            protocol = s.getSession().getProtocol();
            sess.setSocket(BatchingTlsSocket.wrap(s, plain)); // replies to a pipelined group in one TLS record
            sess.resetSmtpProtocol();
            sess.setTlsStarted(true);
        } catch (IOException e) {
            log.info("STARTTLS from {} on {} failed: {}", sess.getRemoteAddress().getAddress(), listener(),
                    e.getMessage());
            sess.quit();
        } finally {
            sessions.handshakeEnded(sess, protocol);
        }
    }

    private void mail(String commandString, Session sess) throws IOException {
        SessionState state = sessions.state(sess);
        if (state.messages >= inbound.limits().maxMessagesPerConnection()) {
            refuse(sess, Refusal.TOO_MANY_MESSAGES, SmtpReplies.TOO_MANY_MESSAGES);
            sess.quit();
            return;
        }
        if (sess.isMailTransactionInProgress()) {
            sess.sendResponse(SmtpReplies.SENDER_ALREADY_GIVEN.line());
            return;
        }
        CommandPath path = CommandPath.parse(commandString, "MAIL", "FROM:");
        if (path == null) {
            sess.sendResponse(SmtpReplies.MAIL_SYNTAX.line());
            return;
        }
        long size = 0;
        boolean smtputf8 = false;
        for (String param : path.params()) {
            String upper = param.toUpperCase(Locale.ROOT);
            if (upper.equals("SMTPUTF8")) {
                smtputf8 = true;
            } else if (upper.startsWith("SIZE=")) {
                try {
                    size = Long.parseLong(param.substring(5));
                } catch (NumberFormatException e) {
                    sess.sendResponse(SmtpReplies.MAIL_SYNTAX.line());
                    return;
                }
            } else if (!(upper.equals("BODY=7BIT") || upper.equals("BODY=8BITMIME")
                    || upper.startsWith("AUTH="))) {
                sess.sendResponse(SmtpReplies.UNSUPPORTED_PARAMETER.line(param.split("=", 2)[0]));
                return;
            }
        }
        if (size > inbound.limits().maxMessageSize()) {
            refuse(sess, Refusal.MESSAGE_TOO_BIG, SmtpReplies.MESSAGE_TOO_BIG);
            return;
        }
        sess.setDeclaredMessageSize((int) size);
        sess.startMailTransaction();
        if (sess.getMessageHandler() instanceof SubmissionHandler submission) {
            submission.smtputf8(smtputf8); // RFC 6531: the message may carry UTF-8 headers
            submission.declaredSize(size); // reserved in the spool while the message is received
        }
        try {
            sess.getMessageHandler().from(path.address());
        } catch (RejectException e) {
            sess.resetMailTransaction();
            sess.sendResponse(e.getErrorResponse());
            if (e instanceof org.subethamail.smtp.DropConnectionException) {
                sess.quit(); // a 421: the reply says the connection closes
            }
            return;
        }
        state.commandsBeforeMail = 0;
        sess.sendResponse(SmtpReplies.MAIL_OK.line());
    }

    private void rcpt(String commandString, Session sess) throws IOException {
        if (!sess.isMailTransactionInProgress()) {
            sess.sendResponse(SmtpReplies.NEED_MAIL.line());
            return;
        }
        if (sess.getRecipientCount() >= inbound.limits().maxRecipients()) {
            refuse(sess, Refusal.TOO_MANY_RECIPIENTS, SmtpReplies.TOO_MANY_RECIPIENTS);
            return;
        }
        CommandPath path = CommandPath.parse(commandString, "RCPT", "TO:");
        if (path == null) {
            sess.sendResponse(SmtpReplies.RCPT_SYNTAX.line());
            return;
        }
        if (!path.params().isEmpty()) {
            sess.sendResponse(SmtpReplies.UNSUPPORTED_PARAMETER.line(path.params().get(0).split("=", 2)[0]));
            return;
        }
        try {
            sess.getMessageHandler().recipient(path.address());
        } catch (RejectException e) {
            sess.sendResponse(e.getErrorResponse());
            return;
        }
        sess.addRecipient(path.address());
        sess.sendResponse(SmtpReplies.RCPT_OK.line());
    }
}
