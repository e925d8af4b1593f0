package dev.relay.server.inbound;

import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.queue.QueueManager;
import dev.relay.core.spool.InsufficientStorageException;
import dev.relay.core.spool.SpoolException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.MessageHandler;
import org.subethamail.smtp.RejectException;

/**
 * Stage: receive. One handler per mail transaction: checks that the client may submit, collects the envelope,
 * and hands the body to the queue, which commits it before this returns and the client gets 250.
 */
final class SubmissionHandler implements MessageHandler {
    private static final Logger log = LoggerFactory.getLogger(SubmissionHandler.class);

    private final MessageContext context;
    private final SubmissionPolicy policy;
    private final QueueManager queue;
    private final String listener;
    private MailAddress sender;
    private final List<MailAddress> recipients = new ArrayList<>();
    private String submitter = "";

    SubmissionHandler(MessageContext context, SubmissionPolicy policy, QueueManager queue, String listener) {
        this.context = context;
        this.policy = policy;
        this.queue = queue;
        this.listener = listener;
    }

    @Override
    public void from(String from) throws RejectException {
        Object identity = context.getAuthenticationHandler().map(h -> h.getIdentity()).orElse(null);
        if (identity != null) {
            submitter = identity.toString();
        } else if (!policy.isTrusted(((InetSocketAddress) context.getRemoteAddress()).getAddress())) {
            throw SmtpReplies.AUTH_REQUIRED.reject();
        }
        try {
            sender = new MailAddress(from);
        } catch (IllegalArgumentException e) {
            throw SmtpReplies.BAD_SENDER_SYNTAX.reject();
        }
    }

    @Override
    public void recipient(String recipient) throws RejectException {
        try {
            MailAddress r = new MailAddress(recipient);
            if (r.isNullSender()) {
                throw new IllegalArgumentException("empty recipient");
            }
            recipients.add(r);
        } catch (IllegalArgumentException e) {
            throw SmtpReplies.BAD_RECIPIENT_SYNTAX.reject();
        }
    }

    @Override
    public String data(InputStream data) throws RejectException, IOException {
        try {
            QueueId id = queue.submit(sender, recipients, submitter, data);
            return SmtpReplies.QUEUED.text(id);
        } catch (InsufficientStorageException e) {
            // expected while the disk is short of space; clears by itself, so no stack trace and a transient 452
            log.info("message from {} on {} not queued: {}", context.getRemoteAddress(), listener, e.getMessage());
            data.transferTo(OutputStream.nullOutputStream());
            throw SmtpReplies.INSUFFICIENT_STORAGE.reject();
        } catch (SpoolException e) {
            log.error("message from {} on {} not queued: {}", context.getRemoteAddress(), listener, e.getMessage());
            // read the rest first: otherwise subethasmtp would take the remaining body lines for commands
            data.transferTo(OutputStream.nullOutputStream());
            throw SmtpReplies.NOT_QUEUED.reject();
        }
    }

    @Override
    public void done() {
        // nothing held between transactions
    }
}
