package dev.relay.server.inbound;

import dev.relay.config.TlsMode;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.MessageHandler;
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
 * commands (RFC 2920) are answered in order.
 */
final class SmtpCommands {
    private static final java.util.regex.Pattern NOT_VISIBLE = java.util.regex.Pattern.compile("[^\\x21-\\x7e]");
    private static final java.util.regex.Pattern SPACES = java.util.regex.Pattern.compile("\\s+");
    private static final Logger log = LoggerFactory.getLogger(SmtpCommands.class);
    private final String listener;
    private final TlsMode tls;
    private final Inbound inbound;
    private final SessionLimits sessions;

    SmtpCommands(String listener, TlsMode tls, Inbound inbound, SessionLimits sessions) {
        this.listener = listener;
        this.tls = tls;
        this.inbound = inbound;
        this.sessions = sessions;
    }

    String listener() {
        return listener;
    }

    /** True if this is a STARTTLS listener and the session has not started TLS yet. */
    boolean tlsMissing(Session sess) {
        return tls == TlsMode.STARTTLS && !sess.isTLSStarted();
    }

    void install(CommandHandler handler) {
        handler.addCommand(counted(new AuthCommand(this, inbound)));
        handler.addCommand(command("EHLO", this::ehlo));
        handler.addCommand(command("HELO", this::helo));
        handler.addCommand(command("STARTTLS", this::startTls));
        handler.addCommand(command("MAIL", tlsFirst(this::mail)));
        handler.addCommand(command("RCPT", tlsFirst(this::rcpt)));
        handler.addCommand(command("DATA", tlsFirst(this::data)));
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
                            sess.getRemoteAddress().getAddress(), listener, inbound.limits().maxCommandsBeforeMail());
                    inbound.refusals().refused(Refusal.TOO_MANY_COMMANDS);
                    sess.sendResponse(SmtpReplies.TOO_MANY_COMMANDS.line());
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
        String[] args = BaseCommand.getArgs(commandString);
        if (args.length < 2) {
            sess.sendResponse(SmtpReplies.EHLO_SYNTAX.line());
            return;
        }
        sess.resetMailTransaction();
        sess.setHelo(args[1]);
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

    private void helo(String commandString, Session sess) throws IOException {
        String[] args = BaseCommand.getArgs(commandString);
        if (args.length < 2) {
            sess.sendResponse(SmtpReplies.HELO_SYNTAX.line());
            return;
        }
        sess.resetMailTransaction();
        sess.setHelo(args[1]);
        sess.sendResponse(SmtpReplies.ehlo(inbound.hostname(), List.of()));
    }

    private void startTls(String commandString, Session sess) throws IOException {
        if (!commandString.strip().equalsIgnoreCase("STARTTLS")) {
            sess.sendResponse(SmtpReplies.NO_PARAMETERS.line());
            return;
        }
        if (tls != TlsMode.STARTTLS) {
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
        try {
            // plaintext the client pipelined after STARTTLS stays in the old buffer and is dropped (RFC 3207 sec. 6)
            SSLSocket s = sess.getServer().createSSLSocket(plain);
            s.startHandshake();
            sess.setSocket(BatchingTlsSocket.wrap(s, plain)); // replies to a pipelined group in one TLS record
            sess.resetSmtpProtocol();
            sess.setTlsStarted(true);
        } catch (IOException e) {
            log.info("STARTTLS from {} on {} failed: {}", sess.getRemoteAddress().getAddress(), listener,
                    e.getMessage());
            sess.quit();
        } finally {
            sessions.handshakeEnded(sess);
        }
    }

    private void mail(String commandString, Session sess) throws IOException {
        SessionLimits.State state = sessions.state(sess);
        if (state.messages >= inbound.limits().maxMessagesPerConnection()) {
            inbound.refusals().refused(Refusal.TOO_MANY_MESSAGES);
            sess.sendResponse(SmtpReplies.TOO_MANY_MESSAGES.line());
            sess.quit();
            return;
        }
        if (sess.isMailTransactionInProgress()) {
            sess.sendResponse(SmtpReplies.SENDER_ALREADY_GIVEN.line());
            return;
        }
        Path path = Path.parse(commandString, "MAIL", "FROM:");
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
            inbound.refusals().refused(Refusal.MESSAGE_TOO_BIG);
            sess.sendResponse(SmtpReplies.MESSAGE_TOO_BIG.line());
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
            inbound.refusals().refused(Refusal.TOO_MANY_RECIPIENTS);
            sess.sendResponse(SmtpReplies.TOO_MANY_RECIPIENTS.line());
            return;
        }
        Path path = Path.parse(commandString, "RCPT", "TO:");
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

    private void data(String commandString, Session sess) throws IOException {
        if (!sess.isMailTransactionInProgress()) {
            sess.sendResponse(SmtpReplies.NEED_MAIL.line());
            return;
        }
        if (sess.getRecipientCount() == 0) {
            sess.sendResponse(SmtpReplies.NEED_RCPT.line());
            return;
        }
        if (!commandString.strip().equalsIgnoreCase("DATA")) {
            sess.sendResponse(SmtpReplies.NO_PARAMETERS.line());
            return;
        }
        sess.sendResponse(SmtpReplies.START_DATA.line());
        DataStream data = new DataStream(sess.getRawInput());
        sessions.dataStarted(sess, data); // the data deadline: enforced by the sessions' sweeper
        MessageHandler handler = sess.getMessageHandler();
        String reply;
        try {
            List<String> from = new ArrayList<>();
            String[] idAndSubject = new String[2];
            InputStream content = SubmissionHeaders.wrap(data, received(sess), inbound.hostname(),
                    ZonedDateTime.now(), from::addAll, (id, subject) -> {
                        idAndSubject[0] = id;
                        idAndSubject[1] = subject;
                    });
            if (handler instanceof SubmissionHandler submission) {
                submission.checkHeaderFrom(from);
                javax.net.ssl.SSLSession tlsSession = sess.getSocket() instanceof SSLSocket ssl ? ssl.getSession() : null;
                submission.receipt(tlsSession == null ? null : tlsSession.getProtocol(),
                        tlsSession == null ? null : tlsSession.getCipherSuite(), idAndSubject[0], idAndSubject[1]);
            }
            String text = handler.data(content);
            data.drain();
            reply = "250 " + text;
            sessions.state(sess).messages++;
        } catch (RejectException | LineTooLongException e) {
            if (e instanceof LineTooLongException) {
                log.info("message from {} on {} refused: a line longer than {} characters",
                        sess.getRemoteAddress().getAddress(), listener, DataStream.MAX_LINE);
                inbound.refusals().refused(Refusal.LINE_TOO_LONG);
            }
            try {
                data.drain(); // never reject before the end of the data: the rest would be read as commands
            } catch (EOFException eof) {
                closedDuringData(sess, data);
                return;
            }
            reply = e instanceof RejectException r ? r.getErrorResponse() : SmtpReplies.LINE_TOO_LONG.line();
        } catch (EOFException e) {
            closedDuringData(sess, data);
            return;
        } finally {
            sessions.dataEnded(sess);
        }
        sess.resetMailTransaction(); // after 250 and after a reject alike: the next MAIL starts afresh
        sess.sendResponse(reply);
    }

    private void closedDuringData(Session sess, DataStream data) {
        if (!data.timedOut()) {
            log.info("connection from {} on {} closed during the data: nothing queued",
                    sess.getRemoteAddress().getAddress(), listener);
        }
        sess.resetMailTransaction();
        sess.quit();
    }

    /** RFC 5321 section 4.4 trace header; the with-protocol as in RFC 3848, the TLS version and cipher. */
    private String received(Session sess) {
        String protocol = "ESMTP" + (sess.isTLSStarted() ? "S" : "") + (sess.isAuthenticated() ? "A" : "");
        String tlsInfo = "";
        if (sess.getSocket() instanceof SSLSocket ssl) {
            tlsInfo = " (" + ssl.getSession().getProtocol() + " " + ssl.getSession().getCipherSuite() + ")";
        }
        return "Received: from " + traceName(sess.getHelo().orElse("unknown")) + " (["
                + sess.getRemoteAddress().getAddress().getHostAddress() + "])\r\n"
                + "\tby " + traceName(inbound.hostname()) + " (relay) with " + protocol + tlsInfo + "\r\n"
                + "\tid " + sess.getSessionId() + "; "
                + java.time.format.DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.US)
                .format(ZonedDateTime.now()) + "\r\n";
    }

    /** The longest name a trace header carries: a domain is at most 255 octets (RFC 5321 section 4.5.3.1.2). */
    static final int MAX_TRACE_NAME = 255;

    /**
     * A name for the {@code Received:} header: what the client said in EHLO (or the configured host name), with
     * every character that is not visible ASCII as {@code ?}, and cut to {@link #MAX_TRACE_NAME}. The EHLO argument
     * may be almost a whole 998-octet command line; copied whole, it made a header line over RFC 5322's 998-octet
     * limit, which strict upstreams refuse.
     */
    static String traceName(String name) {
        String visible = NOT_VISIBLE.matcher(name).replaceAll("?");
        return visible.length() <= MAX_TRACE_NAME ? visible : visible.substring(0, MAX_TRACE_NAME - 3) + "...";
    }

    /** The path and parameters of MAIL FROM: or RCPT TO:, or null on a syntax error. */
    record Path(String address, List<String> params) {
        static Path parse(String commandString, String verb, String prefix) {
            String rest = commandString.strip();
            if (rest.length() < verb.length() || !rest.substring(verb.length()).stripLeading().toUpperCase(Locale.ROOT)
                    .startsWith(prefix)) {
                return null;
            }
            rest = rest.substring(verb.length()).stripLeading().substring(prefix.length()).stripLeading();
            String address;
            if (rest.startsWith("<")) {
                int close = rest.indexOf('>');
                if (close < 0) {
                    return null;
                }
                address = rest.substring(1, close);
                rest = rest.substring(close + 1);
            } else {
                int space = rest.indexOf(' ');
                address = space < 0 ? rest : rest.substring(0, space);
                rest = space < 0 ? "" : rest.substring(space);
                if (address.isEmpty()) {
                    return null;
                }
            }
            List<String> params = new ArrayList<>();
            for (String p : SPACES.split(rest.strip())) {
                if (!p.isEmpty()) {
                    params.add(p);
                }
            }
            return new Path(address, params);
        }
    }
}
