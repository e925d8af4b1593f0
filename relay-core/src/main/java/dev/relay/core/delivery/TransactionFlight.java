package dev.relay.core.delivery;

import dev.relay.core.delivery.Outcome.PermanentFailure;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelProgressiveFuture;
import io.netty.channel.ChannelProgressiveFutureListener;
import io.netty.channel.ChannelProgressivePromise;
import io.netty.handler.codec.smtp.DefaultLastSmtpContent;
import io.netty.handler.codec.smtp.SmtpContent;
import io.netty.handler.codec.smtp.SmtpRequests;
import io.netty.handler.stream.ChunkedInput;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One mail transaction on an established session: {@code [RSET,] MAIL FROM} (with {@code SIZE=},
 * {@code BODY=8BITMIME} and {@code SMTPUTF8} as the content and the upstream's EHLO call for), {@code RCPT TO}
 * for each recipient and {@code DATA}, then the body streamed from the file through the dot-stuffer. With
 * PIPELINING (RFC 2920) the commands go in one flight and the replies are matched in order; otherwise it is
 * lockstep. Each reply is recorded in the {@link SmtpTransaction}; when the outcome is decided the flight hands
 * the connection back to {@link SmtpClientHandler#finishTransaction}.
 *
 * <p>Guarantees: a message the upstream can never take as it is (non-ASCII addresses without SMTPUTF8, over its
 * SIZE limit) fails permanently before MAIL is sent; no content is sent unless a recipient was accepted (the
 * empty message of RFC 2920 section 3.1 aside); the body is never whole in memory and its writes follow the
 * channel's writability, each written chunk re-arming the data timeout.
 *
 * <p>One per connection, reused for each of its transactions, on the connection's event loop only.
 */
final class TransactionFlight {
    private static final Logger LOG = LoggerFactory.getLogger(TransactionFlight.class);

    private final SmtpClientHandler connection;
    private final UpstreamTarget target;
    private final String hostPort;
    /** The replies still expected in the current flight, in order. */
    private final Deque<Step> pipelined = new ArrayDeque<>();
    private final List<String> params = new ArrayList<>(3);
    private boolean utf8Addresses;
    /** The 7-bit plan of the transaction {@code planFor}'s message (an 8-bit one, upstream without 8BITMIME). */
    private SevenBitDowngrade plan;
    private SmtpTransaction planFor;
    private boolean needsReset;

    TransactionFlight(SmtpClientHandler connection, ConnectionSettings settings) {
        this.connection = connection;
        this.target = settings.target();
        this.hostPort = settings.hostPort();
    }

    /** The connection was used: the next transaction starts with RSET. */
    void resetBeforeNext() {
        needsReset = true;
    }

    /** Forgets the replies still expected (the transaction is over). */
    void clear() {
        pipelined.clear();
        plan = null;
        planFor = null;
    }

    /** Sends the transaction of {@code tx} (first RSET alone if the connection was used and has no PIPELINING). */
    void send(SmtpTransaction tx, EhloExtensions extensions) {
        Envelope envelope = tx.job().envelope();
        BodyScan scan = tx.job().scan();
        boolean downgrade = scan.eightBit() && !extensions.eightBitMime();
        if (downgrade && planFor != tx) {
            planDowngrade(tx, extensions);
            return;
        }
        if (downgrade && plan.refusal() != null) {
            tx.decideAll(new PermanentFailure("554 5.6.3 conversion to 7 bit required but not possible: upstream "
                    + hostPort + " does not offer 8BITMIME and the message has " + plan.refusal()));
            connection.finishTransaction();
            return;
        }
        long size = downgrade ? plan.size() : scan.size();
        MailAddress sender = envelope.sender();
        boolean nonAsciiAddresses = !isAscii(sender.value())
                || envelope.recipients().stream().anyMatch(r -> !isAscii(r.value()));
        utf8Addresses = nonAsciiAddresses || envelope.smtputf8();
        if (utf8Addresses && !extensions.smtpUtf8()) {
            tx.decideAll(new PermanentFailure((nonAsciiAddresses ? "the envelope has non-ASCII addresses"
                    : "the message was submitted with SMTPUTF8") + " and upstream " + hostPort
                    + " does not offer SMTPUTF8 (RFC 6531)"));
            connection.finishTransaction();
            return;
        }
        if (extensions.sizeExceeded(size)) {
            tx.decideAll(new PermanentFailure("message size " + size + (downgrade ? " (converted to 7 bit)" : "")
                    + " exceeds the limit of "
                    + extensions.maxSize() + " bytes of upstream " + hostPort));
            connection.finishTransaction();
            return;
        }
        params.clear();
        if (extensions.maxSize() >= 0) {
            params.add("SIZE=" + size);
        }
        if (scan.eightBit() && extensions.eightBitMime()) {
            params.add("BODY=8BITMIME");
        }
        if (utf8Addresses) {
            params.add("SMTPUTF8");
        }
        String mailLine = "MAIL FROM:" + sender.bracketed() + (params.isEmpty() ? "" : " " + String.join(" ", params));
        pipelined.clear();
        boolean reset = needsReset;
        needsReset = false;
        if (reset && !extensions.pipelining()) {
            connection.send(SmtpRequests.rset(), "RSET", Step.RSET, target.timeouts().command()); // then send again
            return;
        }
        if (extensions.pipelining()) {
            // RFC 2920: [RSET,] MAIL, every RCPT and DATA in one flight; the replies come back in the same order
            if (reset) {
                connection.write(SmtpRequests.rset(), "RSET");
                pipelined.add(Step.MAIL);
            }
            connection.write(mailRequest(sender, mailLine), mailLine);
            for (MailAddress r : envelope.recipients()) {
                connection.write(rcptRequest(r), "RCPT TO:" + r.bracketed());
                pipelined.add(Step.RCPT);
            }
            connection.write(SmtpRequests.data(), "DATA");
            pipelined.add(Step.DATA);
            connection.await(reset ? Step.RSET : Step.MAIL, target.timeouts().command());
            connection.ctx().flush();
        } else {
            connection.send(mailRequest(sender, mailLine), mailLine, Step.MAIL, target.timeouts().command());
        }
    }

    /**
     * Makes the 7-bit plan of {@code tx}'s message off the event loop ({@link SevenBitDowngrade} says why), then
     * sends the transaction.
     */
    private void planDowngrade(SmtpTransaction tx, EhloExtensions extensions) {
        connection.await(Step.DOWNGRADE, target.timeouts().dataBlock());
        DeliveryJob job = tx.job();
        NettyDeliveryEngine.BLOCKING.execute(() -> {
            SevenBitDowngrade made = null;
            Throwable error = null;
            try {
                made = SevenBitDowngrade.plan(job.body());
            } catch (IOException | RuntimeException e) {
                error = e;
            }
            SevenBitDowngrade result = made;
            Throwable failure = error;
            try {
                connection.ctx().executor().execute(() -> planned(tx, extensions, result, failure));
            } catch (RejectedExecutionException e) {
                // the event loop is shutting down: the connection's close has decided the transaction already
            }
        });
    }

    private void planned(SmtpTransaction tx, EhloExtensions extensions, SevenBitDowngrade result, Throwable failure) {
        if (!connection.isSending(Step.DOWNGRADE, tx)) {
            return; // timed out or closed meanwhile
        }
        connection.awaiting(Step.DOWNGRADE); // stops the timer
        if (failure != null) {
            connection.fail("cannot read the message content: " + UpstreamTrouble.describe(failure));
            return;
        }
        plan = result;
        planFor = tx;
        send(tx, extensions);
    }

    /** A request object, or with UTF-8 addresses the raw line (the codec's encoder writes ASCII only). */
    private Object mailRequest(MailAddress sender, String line) {
        if (utf8Addresses) {
            return ByteBufUtil.writeUtf8(connection.ctx().alloc(), line + "\r\n");
        }
        return SmtpRequests.mail(sender.isNullSender() ? null : sender.value(), params.toArray(CharSequence[]::new));
    }

    private Object rcptRequest(MailAddress rcpt) {
        if (utf8Addresses) {
            return ByteBufUtil.writeUtf8(connection.ctx().alloc(), "RCPT TO:" + rcpt.bracketed() + "\r\n");
        }
        return SmtpRequests.rcpt(rcpt.value());
    }

    /** With PIPELINING, the next reply of the flight; returns false if the flight is over. */
    private boolean nextPipelined() {
        Step next = pipelined.poll();
        if (next == null) {
            return false;
        }
        connection.await(next, target.timeouts().command());
        return true;
    }

    /** A 3xx where only a final reply may come ({@code when}: to MAIL FROM): the connection fails. */
    private boolean protocolError(SmtpReply reply, String when) {
        if (reply.isIntermediate()) {
            connection.fail("protocol error: unexpected reply " + when + " from " + hostPort + ": " + reply);
            return true;
        }
        return false;
    }

    void onMail(SmtpTransaction tx, SmtpReply reply) {
        if (protocolError(reply, "to MAIL FROM")) {
            return;
        }
        boolean flight = !pipelined.isEmpty();
        tx.mailReply(reply);
        if (flight) {
            nextPipelined();
        } else if (tx.mailAccepted()) {
            sendRcpt(tx);
        } else {
            connection.finishTransaction();
        }
    }

    private void sendRcpt(SmtpTransaction tx) {
        MailAddress rcpt = tx.recipients().get(tx.rcptReplies());
        connection.send(rcptRequest(rcpt), "RCPT TO:" + rcpt.bracketed(), Step.RCPT, target.timeouts().command());
    }

    void onRcpt(SmtpTransaction tx, SmtpReply reply) {
        if (protocolError(reply, "to RCPT TO")) {
            return;
        }
        boolean flight = !pipelined.isEmpty();
        tx.rcptReply(reply);
        if (flight) {
            nextPipelined();
        } else if (!tx.allRcptsAnswered()) {
            sendRcpt(tx);
        } else if (tx.hasAccepted()) {
            connection.send(SmtpRequests.data(), "DATA", Step.DATA, target.timeouts().command());
        } else {
            connection.finishTransaction();
        }
    }

    void onData(SmtpTransaction tx, SmtpReply reply) {
        if (reply.code() == 354) {
            if (tx.hasAccepted()) {
                sendBody(tx);
            } else {
                // RFC 2920 section 3.1: DATA went out in the flight, no recipient was accepted, yet the server
                // wants the content: send a lone "." (an empty message, which it must refuse for want of
                // recipients); RSET follows
                LOG.debug("{}: >>> . (no recipient accepted)", tx.id());
                connection.await(Step.EMPTY_DATA_END, target.timeouts().dataEnd());
                connection.ctx().writeAndFlush(new DefaultLastSmtpContent(Unpooled.EMPTY_BUFFER))
                        .addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
            }
        } else if (reply.isTransient() || reply.isPermanent()) {
            tx.acceptedReply(reply); // the RSET that follows also ends the encoder's "content expected" state
            connection.finishTransaction();
        } else {
            connection.fail("protocol error: unexpected reply to DATA from " + hostPort + ": " + reply);
        }
    }

    private void sendBody(SmtpTransaction current) {
        ChunkedInput<SmtpContent> body;
        try {
            body = planFor == current
                    ? new SevenBitBody(current.job().body(), current.job().scan().size(), plan)
                    : new DotStuffedBody(current.job().body(), current.job().scan().size());
        } catch (IOException e) {
            connection.fail("cannot read the message content: " + UpstreamTrouble.describe(e));
            return;
        }
        connection.await(Step.DATA_BODY, target.timeouts().dataBlock());
        ChannelHandlerContext ctx = connection.ctx();
        ChannelProgressivePromise promise = ctx.newProgressivePromise();
        promise.addListener(new ChannelProgressiveFutureListener() {
            @Override
            public void operationProgressed(ChannelProgressiveFuture future, long progress, long total) {
                if (connection.isSending(Step.DATA_BODY, current)) {
                    connection.await(Step.DATA_BODY, target.timeouts().dataBlock());
                }
            }

            @Override
            public void operationComplete(ChannelProgressiveFuture future) {
                if (!future.isSuccess()) {
                    if (!current.isDone()) {
                        connection.fail("sending the message data to " + hostPort + " failed: "
                                + UpstreamTrouble.describe(future.cause()));
                    }
                } else if (connection.isSending(Step.DATA_BODY, current)) {
                    connection.await(Step.DATA_END, target.timeouts().dataEnd());
                }
            }
        });
        LOG.debug("{}: >>> ({} bytes of message data{})", current.id(), body.length(),
                planFor == current ? ", converted to 7 bit" : "");
        ctx.writeAndFlush(body, promise);
    }

    void onDataEnd(SmtpTransaction tx, SmtpReply reply) {
        if (protocolError(reply, "after the message data")) {
            return;
        }
        tx.acceptedReply(reply);
        connection.finishTransaction();
    }

    void onRset(SmtpTransaction tx, SmtpReply reply, EhloExtensions extensions) {
        if (!reply.isPositive()) {
            connection.fail("RSET refused by " + hostPort + ": " + reply);
            return;
        }
        if (!nextPipelined()) {
            send(tx, extensions);
        }
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > 127) {
                return false;
            }
        }
        return true;
    }
}
