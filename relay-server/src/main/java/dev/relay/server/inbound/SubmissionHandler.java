package dev.relay.server.inbound;

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

    void smtputf8(boolean requested) {
        this.smtputf8 = requested;
    }

    @Override
    public void from(String from) throws RejectException {
        Object identity = context.getAuthenticationHandler().map(h -> h.getIdentity()).orElse(null);
        if (identity != null) {
            user = identity.toString();
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

    /** Refuses the message if the user's policy checks the header From and it is not one of the user's senders. */
    void checkHeaderFrom(List<String> fromAddresses) throws RejectException {
        if (!inbound.policy().headerFromAllowed(user, fromAddresses)) {
            log.info("message of user {} from {} on {} refused: header From not among its senders", user,
                    client(), listener);
            inbound.refusals().refused(Refusal.HEADER_FROM_NOT_ALLOWED);
            throw SmtpReplies.HEADER_FROM_NOT_OWNED.reject(user);
        }
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
