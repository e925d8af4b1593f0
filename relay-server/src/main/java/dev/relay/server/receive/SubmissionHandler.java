package dev.relay.server.receive;

import dev.relay.core.handoff.HandoffHeader;
import dev.relay.core.model.HeaderAddresses;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.queue.QueueManager;
import dev.relay.core.spool.ExpectedSize;
import dev.relay.core.spool.InsufficientStorageException;
import dev.relay.core.spool.SpoolException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.MessageHandler;
import org.subethamail.smtp.RejectException;

/**
 * Stage: receive. One handler per mail transaction: checks that the client may submit and may use the sender
 * and the recipients, collects the envelope, and hands the body to the queue, which commits it before this
 * returns and the client gets 250. A body over the size limit is refused with 552 after the end of the data
 * (the caller drains the rest); nothing of it stays on disk.
 */
final class SubmissionHandler implements MessageHandler {
    private static final Logger log = LoggerFactory.getLogger(SubmissionHandler.class);

    private final MessageContext context;
    private final Inbound inbound;
    private final String listener;
    private MailAddress sender;
    private final List<MailAddress> recipients = new ArrayList<>();
    private String user; // null: a client of a trusted network
    private boolean smtputf8; // the client gave SMTPUTF8 on MAIL FROM
    private long declaredSize; // SIZE= on MAIL FROM, 0 when not given
    private String handoff; // the X-Relay-Handoff field with the highest hop, or null
    private String[] receipt = new String[4]; // TLS protocol and cipher, Message-ID, Subject: for the history

    SubmissionHandler(MessageContext context, Inbound inbound, String listener) {
        this.context = context;
        this.inbound = inbound;
        this.listener = listener;
    }

    private InetAddress client() {
        return ((java.net.InetSocketAddress) context.getRemoteAddress()).getAddress();
    }

    /** Records whether the MAIL command carried the SMTPUTF8 parameter (RFC 6531), before {@link #from}. */
    void declaredSize(long size) {
        this.declaredSize = size;
    }

    /** What the history records of this message besides its envelope (see {@link SmtpCommands}' DATA). */
    void receipt(String tlsProtocol, String tlsCipher, String messageId, String subject) {
        receipt = new String[] {tlsProtocol, tlsCipher, messageId, subject};
    }

    void smtputf8(boolean requested) {
        this.smtputf8 = requested;
    }

    @Override
    public void from(String from) throws RejectException {
        Object identity = context.getAuthenticationHandler().map(h -> h.getIdentity()).orElse(null);
        if (identity != null) {
            user = identity.toString();
            stillValid(context.getAuthenticationHandler().orElse(null));
        } else if (!inbound.policy().isTrusted(client())) {
            inbound.refusals().refused(Refusal.AUTH_REQUIRED);
            throw SmtpReplies.AUTH_REQUIRED.reject();
        }
        try {
            sender = new MailAddress(from);
            if (!sender.hasSingleDomain()) {
                throw new IllegalArgumentException("two domains in one address");
            }
        } catch (IllegalArgumentException e) {
            throw SmtpReplies.BAD_SENDER_SYNTAX.reject();
        }
        if (!inbound.policy().senderAllowed(user, sender.value())) {
            log.info("sender <{}> refused for {} from {} on {}", sender, user == null ? "trusted client" : "user "
                    + user, client(), listener);
            inbound.refusals().refused(Refusal.SENDER_NOT_ALLOWED);
            throw user == null ? SmtpReplies.SENDER_NOT_TRUSTED.reject() : SmtpReplies.SENDER_NOT_OWNED.reject(user);
        }
        if (user != null && !inbound.quotas().mayStartMessage(user)) {
            log.info("message of user {} from {} on {} refused: limits.user-messages-per-minute reached", user,
                    client(), listener);
            inbound.refusals().refused(Refusal.USER_MESSAGE_RATE);
            throw SmtpReplies.USER_MESSAGE_RATE.reject(user);
        }
    }

    /**
     * The users file is reloaded when it changes: a user removed from it gets {@code 530 5.7.0} at each MAIL of a
     * session it opened before (it cannot send again), and a user whose password changed gets {@code 421 4.7.0}
     * and the connection is closed, so the client reconnects and proves the new credential.
     */
    private void stillValid(Object authenticated) throws RejectException {
        String now = inbound.policy().credential(user);
        if (now == null) {
            log.info("MAIL of user {} from {} on {} refused: no longer in the users file", user, client(), listener);
            inbound.refusals().refused(Refusal.AUTH_REVOKED);
            throw SmtpReplies.USER_REMOVED.reject(user);
        }
        if (authenticated instanceof AuthCommand.Identity id && !now.equals(id.credential())) {
            log.info("MAIL of user {} from {} on {} refused: its password changed since AUTH, closing", user,
                    client(), listener);
            inbound.refusals().refused(Refusal.AUTH_REVOKED);
            throw new org.subethamail.smtp.DropConnectionException(SmtpReplies.CREDENTIALS_CHANGED.code(),
                    SmtpReplies.CREDENTIALS_CHANGED.text(user));
        }
    }

    @Override
    public void recipient(String recipient) throws RejectException {
        MailAddress r;
        try {
            r = new MailAddress(recipient);
            if (r.isNullSender() || !r.hasSingleDomain()) {
                throw new IllegalArgumentException("empty recipient or two domains in one address");
            }
        } catch (IllegalArgumentException e) {
            throw SmtpReplies.BAD_RECIPIENT_SYNTAX.reject();
        }
        if (!inbound.policy().recipientAllowed(user, r.value())) {
            log.info("recipient <{}> refused for user {} from {} on {}", r, user, client(), listener);
            inbound.refusals().refused(Refusal.RECIPIENT_NOT_ALLOWED);
            throw SmtpReplies.RECIPIENT_NOT_ALLOWED.reject(user);
        }
        if (user != null && !inbound.quotas().mayAddRecipient(user, recipients.size())) {
            log.info("recipient of user {} from {} on {} refused: limits.user-recipients-per-day reached", user,
                    client(), listener);
            inbound.refusals().refused(Refusal.USER_RECIPIENT_QUOTA);
            throw SmtpReplies.USER_RECIPIENT_QUOTA.reject(user);
        }
        recipients.add(r);
    }

    /**
     * With {@code check-header-from} in the user's policy, refuses the message unless its header has exactly one
     * {@code From:} field and at most one {@code Sender:} field, they parse as RFC 5322 mailboxes
     * ({@link HeaderAddresses}: a real parser, never a hand-written one), a {@code From:} of several mailboxes has
     * a {@code Sender:} (RFC 5322 section 3.6.2), and every address in them is one of the user's senders.
     *
     * @param fields the {@code From:} and {@code Sender:} fields as {@link SubmissionHeaders} collects them
     */
    void checkHeaderFrom(List<String> fields) throws RejectException {
        if (!inbound.policy().checksHeaderFrom(user)) {
            return;
        }
        List<String> from = new ArrayList<>();
        List<String> senderFields = new ArrayList<>();
        for (String field : fields) {
            int colon = field.indexOf(':');
            (field.substring(0, colon).equalsIgnoreCase("From") ? from : senderFields).add(field.substring(colon + 1));
        }
        if (from.isEmpty()) {
            throw refuseHeader(Refusal.HEADER_FROM_NOT_ALLOWED, "no From field",
                    SmtpReplies.HEADER_FROM_NOT_OWNED.reject(user));
        }
        if (from.size() > 1 || senderFields.size() > 1) {
            String name = from.size() > 1 ? "From" : "Sender";
            throw refuseHeader(Refusal.HEADER_INVALID, "more than one " + name + " field",
                    SmtpReplies.HEADER_FIELD_REPEATED.reject(name));
        }
        List<String> authors;
        try {
            authors = HeaderAddresses.mailboxList(from.get(0));
        } catch (HeaderAddresses.MalformedException e) {
            throw refuseHeader(Refusal.HEADER_INVALID, "From does not parse: " + e.getMessage(),
                    SmtpReplies.HEADER_FROM_MALFORMED.reject());
        }
        String headerSender = null;
        if (!senderFields.isEmpty()) {
            try {
                headerSender = HeaderAddresses.mailbox(senderFields.get(0));
            } catch (HeaderAddresses.MalformedException e) {
                throw refuseHeader(Refusal.HEADER_INVALID, "Sender does not parse: " + e.getMessage(),
                        SmtpReplies.HEADER_SENDER_MALFORMED.reject());
            }
        } else if (authors.size() > 1) {
            throw refuseHeader(Refusal.HEADER_INVALID, "several From mailboxes and no Sender",
                    SmtpReplies.HEADER_SENDER_MISSING.reject());
        }
        for (String a : authors) {
            if (!inbound.policy().senderAllowed(user, a)) {
                throw refuseHeader(Refusal.HEADER_FROM_NOT_ALLOWED, "header From not among its senders",
                        SmtpReplies.HEADER_FROM_NOT_OWNED.reject(user));
            }
        }
        if (headerSender != null && !inbound.policy().senderAllowed(user, headerSender)) {
            throw refuseHeader(Refusal.HEADER_SENDER_NOT_ALLOWED, "header Sender not among its senders",
                    SmtpReplies.HEADER_SENDER_NOT_OWNED.reject(user));
        }
    }

    /**
     * The {@code X-Relay-Handoff} fields of the message (see docs/scale-out.md): taken from any authenticated user
     * (the users file is the relay's trust boundary), never from a client of a trusted network without AUTH; a
     * message handed off more than {@code handoff.max-hops} times is refused with a 5xx (the sender keeps it), and
     * while this relay is stopping with {@code 451 4.3.2}, so that the sender tries another replica.
     */
    void checkHandoff(List<String> fields) throws RejectException {
        handoff = null;
        if (fields.isEmpty()) {
            return;
        }
        if (user == null) {
            throw refuseHeader(Refusal.HANDOFF_UNAUTHENTICATED, "X-Relay-Handoff without AUTH",
                    SmtpReplies.HANDOFF_UNAUTHENTICATED.reject());
        }
        String last = fields.get(0);
        for (String f : fields) {
            last = HandoffHeader.hopOf(f) > HandoffHeader.hopOf(last) ? f : last;
        }
        int hops = HandoffHeader.hopOf(last);
        if (hops > inbound.maxHandoffHops()) {
            throw refuseHeader(Refusal.HANDOFF_LOOP, "handed off " + hops + " times",
                    SmtpReplies.HANDOFF_LOOP.reject(hops, inbound.maxHandoffHops()));
        }
        if (inbound.draining()) {
            throw refuseHeader(Refusal.HANDOFF_DRAINING, "a hand-off while stopping",
                    SmtpReplies.HANDOFF_DRAINING.reject());
        }
        handoff = last;
    }

    private RejectException refuseHeader(Refusal refusal, String why, RejectException reply) {
        log.info("message of user {} from {} on {} refused: {}", user, client(), listener, why);
        inbound.refusals().refused(refusal);
        return reply;
    }

    @Override
    public String data(InputStream data) throws RejectException, IOException {
        long max = inbound.limits().maxMessageSize();
        // the spool reserves this much free space while the message is received
        SizeLimit limited = new SizeLimit(data, max, declaredSize > 0 ? Math.min(declaredSize, max) : max);
        try {
            QueueId id = inbound.queue().submit(sender, recipients, user == null ? "" : user, smtputf8,
                    limited);
            if (user != null) {
                inbound.quotas().queued(user, recipients.size());
            }
            inbound.receipts().received(id, new dev.relay.history.Receipt(listener, client().getHostAddress(), user,
                    receipt[0], receipt[1], receipt[2], receipt[3]));
            if (handoff != null) {
                log.info("{}: handed off by user {}: {}", id, user, handoff);
                inbound.receipts().handedOff(id, HandoffHeader.idOf(handoff), handoff);
            }
            return SmtpReplies.QUEUED.text(id);
        } catch (InsufficientStorageException e) {
            // expected while the disk is short of space; clears by itself, so no stack trace and a transient 452
            log.info("message from {} on {} not queued: {}", client(), listener, e.getMessage());
            data.transferTo(OutputStream.nullOutputStream());
            throw SmtpReplies.INSUFFICIENT_STORAGE.reject();
        } catch (SpoolException e) {
            if (e.getCause() instanceof LineTooLongException tooLong) {
                throw tooLong; // refused by the caller, after the end of the data
            }
            if (limited.exceeded) {
                inbound.refusals().refused(Refusal.MESSAGE_TOO_BIG);
                log.info("message from {} on {} refused: larger than {} bytes", client(), listener,
                        inbound.limits().maxMessageSize());
                throw SmtpReplies.MESSAGE_TOO_BIG.reject();
            }
            if (e.getCause() instanceof java.io.EOFException eof) {
                throw eof; // the client went away during the data
            }
            log.error("message from {} on {} not queued: {}", client(), listener, e.getMessage());
            throw SmtpReplies.NOT_QUEUED.reject();
        }
    }

    @Override
    public void done() {
        // nothing held between transactions
    }

    /** Fails the read (so the spool drops what it wrote) once more than {@code max} bytes came. */
    private static final class SizeLimit extends FilterInputStream implements ExpectedSize {
        private final long max;
        private final long expected;
        private long count;
        boolean exceeded;

        SizeLimit(InputStream in, long max, long expected) {
            super(in);
            this.max = max;
            this.expected = expected;
        }

        @Override
        public long expectedSize() {
            return expected;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b != -1) {
                count(1);
            }
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            int n = super.read(buf, off, len);
            if (n > 0) {
                count(n);
            }
            return n;
        }

        private void count(int n) throws IOException {
            count += n;
            if (count > max) {
                exceeded = true;
                throw new IOException("message larger than " + max + " bytes");
            }
        }
    }
}
