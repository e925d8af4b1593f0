package dev.relay.server.receive;

import dev.relay.core.auth.AuthListener.Failure;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.AuthenticationHandler;
import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.internal.server.BaseCommand;
import org.subethamail.smtp.server.Session;

/**
 * AUTH PLAIN (RFC 4616) and LOGIN (the Outlook mechanism), only once TLS is up on a TLS listener, with the
 * failure throttle: a locked-out address, or a locked-out user from an address it has not authenticated from
 * before, gets {@code 454 4.7.0} without a check, a failure is answered
 * {@code 535 5.7.8} after a delay that grows with each failure. Neither the password nor the response lines are
 * ever logged; a user name is logged only if it is in the users file (a mistyped password might be in it).
 */
final class AuthCommand extends BaseCommand {
    private static final Logger log = LoggerFactory.getLogger(AuthCommand.class);

    private final SmtpCommands commands;
    private final Inbound inbound;

    AuthCommand(SmtpCommands commands, Inbound inbound) {
        super("AUTH", "Authentication (PLAIN, LOGIN)");
        this.commands = commands;
        this.inbound = inbound;
    }

    /**
     * The authenticated identity, as subethasmtp keeps it in the session; {@code credential} is the user's
     * {@link dev.relay.core.auth.UsersFile#credential} when it authenticated, checked again at each MAIL.
     */
    record Identity(String user, String mechanism, String credential) implements AuthenticationHandler {
        @Override
        public Optional<String> auth(String clientInput, MessageContext context) {
            return Optional.empty();
        }

        @Override
        public Object getIdentity() {
            return user;
        }
    }

    private record Credentials(String user, String password) {
    }

    /** The client gave up or sent something that is not a valid response; the reply is already chosen. */
    private static final class Abort extends Exception {
        final SmtpReplies reply;

        Abort(SmtpReplies reply) {
            super(null, null, false, false);
            this.reply = reply;
        }
    }

    @Override
    public void execute(String commandString, Session sess) throws IOException {
        if (commands.tlsMissing(sess)) {
            inbound.authListener().authFailed(Failure.TLS_REQUIRED);
            sess.sendResponse(SmtpReplies.TLS_REQUIRED.line());
            return;
        }
        if (!inbound.policy().hasUsers()) {
            sess.sendResponse(SmtpReplies.AUTH_NOT_AVAILABLE.line());
            return;
        }
        if (sess.isAuthenticated()) {
            sess.sendResponse(SmtpReplies.AUTH_ALREADY.line());
            return;
        }
        if (sess.isMailTransactionInProgress()) {
            sess.sendResponse(SmtpReplies.AUTH_IN_TRANSACTION.line());
            return;
        }
        String[] args = getArgs(commandString);
        if (args.length < 2 || args.length > 3) {
            sess.sendResponse(SmtpReplies.AUTH_SYNTAX.line());
            return;
        }
        InetAddress client = sess.getRemoteAddress().getAddress();
        if (inbound.throttle().addressLocked(client).isPresent()) {
            inbound.authListener().authFailed(Failure.LOCKED_OUT);
            log.info("AUTH from {} on {} refused: address locked out", client, commands.listener());
            sess.sendResponse(SmtpReplies.AUTH_LOCKED_OUT.line());
            return;
        }
        String mechanism = args[1].toUpperCase(Locale.ROOT);
        String initial = args.length == 3 ? args[2] : null;
        Credentials credentials;
        try {
            credentials = switch (mechanism) {
                case "PLAIN" -> plain(sess, initial);
                case "LOGIN" -> login(sess, initial);
                default -> throw new Abort(SmtpReplies.AUTH_MECHANISM_UNSUPPORTED);
            };
        } catch (Abort a) {
            if (a.reply != SmtpReplies.AUTH_MECHANISM_UNSUPPORTED) {
                inbound.authListener().authFailed(Failure.MALFORMED);
            }
            sess.sendResponse(a.reply.line());
            return;
        }
        if (credentials == null) {
            return; // connection closed during the exchange
        }
        check(sess, client, mechanism, credentials);
    }

    private void check(Session sess, InetAddress client, String mechanism, Credentials c) throws IOException {
        String user = c.user();
        boolean known = inbound.policy().isKnownUser(user);
        if (inbound.throttle().userLocked(user, client).isPresent()) {
            inbound.authListener().authFailed(Failure.LOCKED_OUT);
            log.info("AUTH from {} on {} refused: user {} locked out", client, commands.listener(),
                    known ? user : "(unknown)");
            sess.sendResponse(SmtpReplies.AUTH_LOCKED_OUT.line());
            return;
        }
        String credential = inbound.policy().credential(user); // before the check: a reload between is seen at MAIL
        if (inbound.policy().authenticate(user, c.password())) {
            inbound.throttle().succeeded(user, client);
            inbound.authListener().authSucceeded(mechanism);
            sess.setAuthenticationHandler(new Identity(user, mechanism, credential));
            log.info("AUTH {} user={} from {} on {}", mechanism, user, client, commands.listener());
            sess.sendResponse(SmtpReplies.AUTH_SUCCEEDED.line());
            return;
        }
        Duration delay = inbound.throttle().failed(client, user);
        inbound.authListener().authFailed(Failure.INVALID_CREDENTIALS);
        log.info("AUTH {} failed from {} on {} user={}", mechanism, client, commands.listener(),
                known ? user : "(unknown)");
        pause(delay);
        sess.sendResponse(SmtpReplies.AUTH_INVALID.line());
    }

    /** RFC 4616: [authzid] NUL authcid NUL passwd; an authzid other than the authcid is refused. */
    private Credentials plain(Session sess, String initial) throws IOException, Abort {
        String response = initial;
        if (response == null) {
            sess.sendResponse(SmtpReplies.AUTH_CHALLENGE.line());
            response = readResponse(sess);
            if (response == null) {
                return null;
            }
        }
        byte[] decoded = decode(response);
        int first = indexOf(decoded, 0);
        int second = first < 0 ? -1 : indexOf(decoded, first + 1);
        if (second < 0) {
            throw new Abort(SmtpReplies.AUTH_BAD_RESPONSE);
        }
        String authzid = new String(decoded, 0, first, StandardCharsets.UTF_8);
        String authcid = new String(decoded, first + 1, second - first - 1, StandardCharsets.UTF_8);
        String password = new String(decoded, second + 1, decoded.length - second - 1, StandardCharsets.UTF_8);
        if (!authzid.isEmpty() && !authzid.equals(authcid)) {
            return new Credentials(authcid, null); // acting as someone else is not allowed: fails the check
        }
        return new Credentials(authcid, password);
    }

    private Credentials login(Session sess, String initial) throws IOException, Abort {
        String user;
        if (initial != null) {
            user = new String(decode(initial), StandardCharsets.UTF_8);
        } else {
            sess.sendResponse(SmtpReplies.AUTH_LOGIN_USERNAME.line());
            String line = readResponse(sess);
            if (line == null) {
                return null;
            }
            user = new String(decode(line), StandardCharsets.UTF_8);
        }
        sess.sendResponse(SmtpReplies.AUTH_LOGIN_PASSWORD.line());
        String line = readResponse(sess);
        if (line == null) {
            return null;
        }
        return new Credentials(user, new String(decode(line), StandardCharsets.UTF_8));
    }

    private static String readResponse(Session sess) throws IOException, Abort {
        String line = sess.getReader().readLine();
        if (line == null) {
            return null;
        }
        if (line.strip().equals("*")) {
            throw new Abort(SmtpReplies.AUTH_CANCELLED);
        }
        return line.strip();
    }

    private static byte[] decode(String base64) throws Abort {
        if (base64.equals("=")) {
            return new byte[0];
        }
        try {
            return Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            throw new Abort(SmtpReplies.AUTH_BAD_RESPONSE);
        }
    }

    private static int indexOf(byte[] bytes, int from) {
        for (int i = from; i < bytes.length; i++) {
            if (bytes[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    private static void pause(Duration delay) {
        if (delay.isZero()) {
            return;
        }
        try {
            Thread.sleep(delay); // a virtual thread: the tarpit costs no platform thread
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
