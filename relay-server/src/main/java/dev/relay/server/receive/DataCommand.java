package dev.relay.server.receive;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.MessageHandler;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.server.Session;

/**
 * DATA: reads the message through {@link DataStream} (only {@code <CR><LF>.<CR><LF>} ends it) under the data
 * deadline, puts the {@code Received:} header before it, and answers {@code 250} only once the message handler has
 * queued it. A refused message is read to its end before the refusal, so that none of it is read as commands;
 * after a 250 or a refusal alike the transaction is reset.
 */
final class DataCommand {
    private static final Pattern NOT_VISIBLE = Pattern.compile("[^\\x21-\\x7e]");
    /** RFC 5322 date-time for the trace header (made once: building a formatter per message showed in profiles). */
    private static final DateTimeFormatter TRACE_DATE = DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z",
            Locale.US);
    // the logger of the command table this came from: its lines keep their logger name
    private static final Logger log = LoggerFactory.getLogger(SmtpCommands.class);
    private final String listener;
    private final Inbound inbound;
    private final SessionLimits sessions;

    DataCommand(SmtpCommands commands, Inbound inbound, SessionLimits sessions) {
        this.listener = commands.listener();
        this.inbound = inbound;
        this.sessions = sessions;
    }

    void run(String commandString, Session sess) throws IOException {
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
            List<String> handoff = new ArrayList<>();
            InputStream content = SubmissionHeaders.wrap(data, received(sess), inbound.hostname(),
                    ZonedDateTime.now(), from::addAll, (id, subject) -> {
                        idAndSubject[0] = id;
                        idAndSubject[1] = subject;
                    }, handoff::add);
            if (handler instanceof SubmissionHandler submission) {
                submission.checkHeaderFrom(from);
                submission.checkHandoff(handoff);
                SSLSession tls = sess.getSocket() instanceof SSLSocket ssl ? ssl.getSession() : null;
                submission.receipt(tls == null ? null : tls.getProtocol(), tls == null ? null : tls.getCipherSuite(),
                        idAndSubject[0], idAndSubject[1]);
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
                + TRACE_DATE.format(ZonedDateTime.now()) + "\r\n";
    }

    private static boolean visibleAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x21 || c > 0x7e) {
                return false;
            }
        }
        return true;
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
        if (visibleAscii(name) && name.length() <= MAX_TRACE_NAME) {
            return name; // the usual case, without a regular expression's matcher per message
        }
        String visible = NOT_VISIBLE.matcher(name).replaceAll("?");
        return visible.length() <= MAX_TRACE_NAME ? visible : visible.substring(0, MAX_TRACE_NAME - 3) + "...";
    }
}
