package dev.relay.core.delivery;

import dev.relay.config.TlsMode;
import dev.relay.core.delivery.Outcome.Delivered;
import dev.relay.core.delivery.Outcome.PermanentFailure;
import dev.relay.core.delivery.Outcome.TransientFailure;
import dev.relay.core.model.MailAddress;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelProgressiveFuture;
import io.netty.channel.ChannelProgressiveFutureListener;
import io.netty.channel.ChannelProgressivePromise;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.smtp.DefaultSmtpRequest;
import io.netty.handler.codec.smtp.SmtpCommand;
import io.netty.handler.codec.smtp.SmtpRequest;
import io.netty.handler.codec.smtp.SmtpRequests;
import io.netty.handler.codec.smtp.SmtpResponse;
import io.netty.handler.codec.smtp.SmtpResponseDecoder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of one SMTP transaction on one connection, as a state machine driven by the upstream's replies
 * (lockstep: one command, one reply). Runs on the channel's event loop only, so it needs no locking.
 *
 * <p>Every step is timed; a timeout, a dropped connection, a TLS failure or a malformed reply decides every
 * recipient not yet decided as a transient failure. The job's future is completed exactly once.
 */
final class SmtpClientHandler extends SimpleChannelInboundHandler<SmtpResponse> {
    private static final Logger LOG = LoggerFactory.getLogger(SmtpClientHandler.class);
    private static final SmtpCommand STARTTLS = SmtpCommand.valueOf("STARTTLS");

    /** Where the conversation is; {@code phase} names it in "connection closed during ..." details. */
    enum Step {
        GREETING("greeting", "greeting"),
        EHLO("EHLO", "EHLO reply"),
        HELO("HELO", "HELO reply"),
        STARTTLS("STARTTLS", "STARTTLS reply"),
        TLS_HANDSHAKE("TLS handshake", "TLS handshake"),
        AUTH("AUTH", "AUTH reply"),
        AUTH_LOGIN_USER("AUTH", "AUTH LOGIN username prompt"),
        AUTH_LOGIN_PASS("AUTH", "AUTH LOGIN password prompt"),
        MAIL("MAIL FROM", "MAIL FROM reply"),
        RCPT("RCPT TO", "RCPT TO reply"),
        DATA("DATA", "DATA reply"),
        DATA_BODY("DATA", "message data to be sent"),
        DATA_END("DATA", "end-of-data reply"),
        QUIT("QUIT", "QUIT reply"),
        DONE("end", "nothing");

        final String phase;
        final String waitingFor;

        Step(String phase, String waitingFor) {
            this.phase = phase;
            this.waitingFor = waitingFor;
        }
    }

    private final DeliveryJob job;
    private final UpstreamTarget target;
    private final String id;
    private final Map<MailAddress, Outcome> decided = new LinkedHashMap<>();
    private final List<MailAddress> accepted = new ArrayList<>();
    private ChannelHandlerContext ctx;
    private Step step = Step.GREETING;
    private EhloExtensions extensions = EhloExtensions.NONE;
    private boolean tlsActive;
    private boolean utf8Addresses;
    private int rcptIndex;
    private ScheduledFuture<?> timer;

    SmtpClientHandler(DeliveryJob job) {
        this.job = job;
        this.target = job.target();
        this.id = job.envelope().id().value();
    }

    // ---- Netty events ------------------------------------------------------------------------------------------

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        this.ctx = ctx;
        LOG.debug("{}: connected to {} ({})", id, job.hostPort(), target.name());
        arm(target.timeouts().greeting());
        super.channelActive(ctx);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof SmtpResponse) {
            super.channelRead(ctx, msg);
            return;
        }
        ReferenceCountUtil.release(msg); // only a replaced decoder's leftover bytes get here
        if (step == Step.TLS_HANDSHAKE) {
            injected();
        }
    }

    /** Plaintext that arrived after the STARTTLS reply, before the handshake: a response injection attempt. */
    private void injected() {
        fail("upstream " + job.hostPort() + " sent data after its STARTTLS reply, before the TLS handshake "
                + "(possible injection); refusing");
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, SmtpResponse response) {
        SmtpReply reply = SmtpReply.of(response);
        LOG.debug("{}: <<< {}", id, reply);
        cancelTimer();
        if (step == Step.QUIT || step == Step.DONE || job.result().isDone()) {
            close();
            return;
        }
        if (step == Step.TLS_HANDSHAKE) {
            injected();
            return;
        }
        if (!reply.isWellFormed()) {
            fail("protocol error: invalid reply code from " + job.hostPort() + " during " + step.phase + ": "
                    + reply);
            return;
        }
        switch (step) {
            case GREETING -> onGreeting(reply);
            case EHLO -> onEhlo(reply);
            case HELO -> onHelo(reply);
            case STARTTLS -> onStartTls(reply);
            case AUTH -> onAuth(reply);
            case AUTH_LOGIN_USER, AUTH_LOGIN_PASS -> onAuthLoginPrompt(reply);
            case MAIL -> onMail(reply);
            case RCPT -> onRcpt(reply);
            case DATA -> onData(reply);
            case DATA_BODY, DATA_END -> onDataEnd(reply);
            default -> fail("protocol error: unexpected reply from " + job.hostPort() + " during " + step.phase
                    + ": " + reply);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof SslHandshakeCompletionEvent e) {
            if (!e.isSuccess()) {
                fail("TLS handshake with " + job.hostPort() + " failed: " + describe(e.cause()));
                return;
            }
            tlsActive = true;
            SslHandler ssl = ctx.pipeline().get(SslHandler.class);
            LOG.debug("{}: TLS established with {} ({}, {})", id, job.hostPort(),
                    ssl == null ? "?" : ssl.engine().getSession().getProtocol(),
                    ssl == null ? "?" : ssl.engine().getSession().getCipherSuite());
            if (step == Step.TLS_HANDSHAKE) {
                cancelTimer();
                sendEhlo(Step.EHLO);
            }
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (!job.result().isDone()) {
            fail("connection closed by upstream " + job.hostPort() + " during " + step.phase);
        }
        cancelTimer();
        step = Step.DONE;
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (job.result().isDone()) {
            LOG.debug("{}: after the outcome was decided: {}", id, cause.toString());
            close();
            return;
        }
        SSLException ssl = find(cause, SSLException.class);
        if (ssl != null) {
            fail((tlsActive ? "TLS error with " : "TLS handshake with ") + job.hostPort()
                    + (tlsActive ? ": " : " failed: ") + describe(ssl));
        } else if (cause instanceof DecoderException) {
            String msg = describe(cause);
            fail("protocol error: malformed reply from " + job.hostPort() + " during " + step.phase
                    + (msg.startsWith("Received invalid line") || msg.startsWith("frame length")
                    ? ": " + truncate(msg) : ""));
        } else if (find(cause, IOException.class) != null) {
            fail("connection error with " + job.hostPort() + " during " + step.phase + ": "
                    + describe(find(cause, IOException.class)));
        } else {
            LOG.warn("{}: unexpected error talking to {}", id, job.hostPort(), cause);
            fail("unexpected error during " + step.phase + " with " + job.hostPort() + ": " + cause);
        }
    }

    // ---- the conversation --------------------------------------------------------------------------------------

    private void onGreeting(SmtpReply reply) {
        if (reply.code() == 220) {
            sendEhlo(Step.EHLO);
        } else if (reply.isTransient() || reply.isPermanent()) {
            quitAndFail("upstream " + job.hostPort() + " refused the session: " + reply);
        } else {
            fail("protocol error: unexpected greeting from " + job.hostPort() + ": " + reply);
        }
    }

    private void onEhlo(SmtpReply reply) {
        if (reply.isPositive()) {
            extensions = EhloExtensions.parse(reply);
            afterHello();
        } else if (reply.isPermanent() && target.tls() != TlsMode.STARTTLS) {
            send(SmtpRequests.helo(heloName()), "HELO " + heloName(), Step.HELO, target.timeouts().command());
        } else {
            quitAndFail("EHLO refused by " + job.hostPort() + ": " + reply);
        }
    }

    private void onHelo(SmtpReply reply) {
        if (reply.isPositive()) {
            extensions = EhloExtensions.NONE;
            afterHello();
        } else {
            quitAndFail("HELO refused by " + job.hostPort() + ": " + reply);
        }
    }

    private void afterHello() {
        if (target.tls() == TlsMode.STARTTLS && !tlsActive) {
            if (!extensions.startTls()) {
                quitAndFail("upstream " + job.hostPort()
                        + " does not offer STARTTLS; refusing to send in plaintext");
                return;
            }
            send(new DefaultSmtpRequest(STARTTLS), "STARTTLS", Step.STARTTLS, target.timeouts().command());
        } else if (target.username() != null) {
            startAuth();
        } else {
            sendMail();
        }
    }

    private void onStartTls(SmtpReply reply) {
        if (reply.code() != 220) {
            quitAndFail("STARTTLS refused by " + job.hostPort() + ": " + reply);
            return;
        }
        step = Step.TLS_HANDSHAKE;
        arm(target.timeouts().command());
        // RFC 3207 section 6: nothing received before the handshake may count after it. Replacing the decoder
        // hands any bytes the old one still holds to channelRead (now, synchronously), which fails the delivery.
        ctx.pipeline().replace(SmtpResponseDecoder.class, NettyDeliveryEngine.DECODER,
                new SmtpResponseDecoder(NettyDeliveryEngine.MAX_REPLY_LINE));
        if (job.result().isDone()) {
            return;
        }
        ctx.pipeline().addFirst("tls",
                ClientTlsContexts.newHandler(job.tls(), ctx.alloc(), target.host(), target.port()));
    }

    private void startAuth() {
        if (extensions.authMechanisms().contains("PLAIN")) {
            byte[] token = ("\0" + target.username() + "\0" + nullToEmpty(target.password()))
                    .getBytes(StandardCharsets.UTF_8);
            send(SmtpRequests.auth("PLAIN", Base64.getEncoder().encodeToString(token)), "AUTH PLAIN ********",
                    Step.AUTH, target.timeouts().command());
        } else if (extensions.authMechanisms().contains("LOGIN")) {
            send(SmtpRequests.auth("LOGIN"), "AUTH LOGIN", Step.AUTH_LOGIN_USER, target.timeouts().command());
        } else {
            quitAndFail("upstream " + job.hostPort() + " offers no supported AUTH mechanism (PLAIN, LOGIN); "
                    + "offered: " + extensions.authMechanisms());
        }
    }

    private void onAuthLoginPrompt(SmtpReply reply) {
        if (reply.code() != 334) {
            authFailed(reply);
            return;
        }
        boolean user = step == Step.AUTH_LOGIN_USER;
        String value = user ? target.username() : nullToEmpty(target.password());
        send(SmtpRequests.empty(Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8))),
                "(AUTH LOGIN " + (user ? "username" : "password") + ")", user ? Step.AUTH_LOGIN_PASS : Step.AUTH,
                target.timeouts().command());
    }

    private void onAuth(SmtpReply reply) {
        if (reply.code() == 235) {
            LOG.debug("{}: authenticated to {} as {}", id, job.hostPort(), target.username());
            sendMail();
        } else {
            authFailed(reply);
        }
    }

    /** Any refusal of our credentials is the relay's problem, never the sender's: transient. */
    private void authFailed(SmtpReply reply) {
        quitAndFail("authentication as " + target.username() + " to " + job.hostPort() + " failed: " + reply);
    }

    private void sendMail() {
        MailAddress sender = job.envelope().sender();
        utf8Addresses = !isAscii(sender.value())
                || job.envelope().recipients().stream().anyMatch(r -> !isAscii(r.value()));
        if (utf8Addresses && !extensions.smtpUtf8()) {
            decideAll(new PermanentFailure("the envelope has non-ASCII addresses and upstream " + job.hostPort()
                    + " does not offer SMTPUTF8 (RFC 6531)"));
            quit();
            return;
        }
        if (extensions.sizeExceeded(job.scan().size())) {
            decideAll(new PermanentFailure("message size " + job.scan().size() + " exceeds the limit of "
                    + extensions.maxSize() + " bytes of upstream " + job.hostPort()));
            quit();
            return;
        }
        List<String> params = new ArrayList<>(3);
        if (extensions.maxSize() >= 0) {
            params.add("SIZE=" + job.scan().size());
        }
        if (job.scan().eightBit() && extensions.eightBitMime()) {
            params.add("BODY=8BITMIME");
        }
        if (utf8Addresses) {
            params.add("SMTPUTF8");
        }
        String path = sender.isNullSender() ? null : sender.value();
        if (utf8Addresses) {
            sendUtf8Line("MAIL FROM:" + sender.bracketed() + (params.isEmpty() ? "" : " " + String.join(" ", params)),
                    Step.MAIL);
        } else {
            SmtpRequest mail = SmtpRequests.mail(path, params.toArray(CharSequence[]::new));
            send(mail, "MAIL FROM:" + sender.bracketed() + (params.isEmpty() ? "" : " " + String.join(" ", params)),
                    Step.MAIL, target.timeouts().command());
        }
    }

    private void onMail(SmtpReply reply) {
        if (reply.isPositive()) {
            rcptIndex = 0;
            sendRcpt();
        } else if (reply.isTransient()) {
            decideAll(new TransientFailure(reply.toString()));
            quit();
        } else if (reply.isPermanent()) {
            decideAll(new PermanentFailure(reply.toString()));
            quit();
        } else {
            fail("protocol error: unexpected reply to MAIL FROM from " + job.hostPort() + ": " + reply);
        }
    }

    private void sendRcpt() {
        MailAddress rcpt = job.envelope().recipients().get(rcptIndex);
        if (utf8Addresses) {
            sendUtf8Line("RCPT TO:" + rcpt.bracketed(), Step.RCPT);
        } else {
            send(SmtpRequests.rcpt(rcpt.value()), "RCPT TO:" + rcpt.bracketed(), Step.RCPT,
                    target.timeouts().command());
        }
    }

    private void onRcpt(SmtpReply reply) {
        MailAddress rcpt = job.envelope().recipients().get(rcptIndex);
        if (reply.isPositive()) {
            accepted.add(rcpt);
        } else if (reply.isTransient()) {
            decided.put(rcpt, new TransientFailure(reply.toString()));
        } else if (reply.isPermanent()) {
            decided.put(rcpt, new PermanentFailure(reply.toString()));
        } else {
            fail("protocol error: unexpected reply to RCPT TO from " + job.hostPort() + ": " + reply);
            return;
        }
        rcptIndex++;
        if (rcptIndex < job.envelope().recipients().size()) {
            sendRcpt();
        } else if (accepted.isEmpty()) {
            quit();
        } else {
            send(SmtpRequests.data(), "DATA", Step.DATA, target.timeouts().command());
        }
    }

    private void onData(SmtpReply reply) {
        if (reply.code() == 354) {
            sendBody();
        } else if (reply.isTransient()) {
            decideAccepted(new TransientFailure(reply.toString()));
            quit();
        } else if (reply.isPermanent()) {
            decideAccepted(new PermanentFailure(reply.toString()));
            quit();
        } else {
            fail("protocol error: unexpected reply to DATA from " + job.hostPort() + ": " + reply);
        }
    }

    private void sendBody() {
        DotStuffedBody body;
        try {
            body = new DotStuffedBody(job.body());
        } catch (IOException e) {
            fail("cannot read the message content: " + describe(e));
            return;
        }
        step = Step.DATA_BODY;
        arm(target.timeouts().dataBlock());
        ChannelProgressivePromise promise = ctx.newProgressivePromise();
        promise.addListener(new ChannelProgressiveFutureListener() {
            @Override
            public void operationProgressed(ChannelProgressiveFuture future, long progress, long total) {
                if (step == Step.DATA_BODY) {
                    arm(target.timeouts().dataBlock());
                }
            }

            @Override
            public void operationComplete(ChannelProgressiveFuture future) {
                if (!future.isSuccess()) {
                    if (!job.result().isDone()) {
                        fail("sending the message data to " + job.hostPort() + " failed: "
                                + describe(future.cause()));
                    }
                } else if (step == Step.DATA_BODY) {
                    step = Step.DATA_END;
                    arm(target.timeouts().dataEnd());
                }
            }
        });
        LOG.debug("{}: >>> ({} bytes of message data)", id, job.scan().size());
        ctx.writeAndFlush(body, promise);
    }

    private void onDataEnd(SmtpReply reply) {
        if (reply.isPositive()) {
            decideAccepted(new Delivered(reply.toString()));
            quit();
        } else if (reply.isTransient()) {
            decideAccepted(new TransientFailure(reply.toString()));
            quit();
        } else if (reply.isPermanent()) {
            decideAccepted(new PermanentFailure(reply.toString()));
            quit();
        } else {
            fail("protocol error: unexpected reply after the message data from " + job.hostPort() + ": " + reply);
        }
    }

    // ---- sending, timing, finishing ----------------------------------------------------------------------------

    private void sendEhlo(Step next) {
        send(SmtpRequests.ehlo(heloName()), "EHLO " + heloName(), next, target.timeouts().command());
    }

    private void send(SmtpRequest request, String forLog, Step next, Duration timeout) {
        LOG.debug("{}: >>> {}", id, forLog);
        step = next;
        arm(timeout);
        ctx.writeAndFlush(request).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
    }

    /** A MAIL or RCPT line with UTF-8 addresses (SMTPUTF8): the codec's encoder writes ASCII only. */
    private void sendUtf8Line(String line, Step next) {
        LOG.debug("{}: >>> {}", id, line);
        step = next;
        arm(target.timeouts().command());
        ctx.writeAndFlush(ByteBufUtil.writeUtf8(ctx.alloc(), line + "\r\n"))
                .addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
    }

    /** The outcome is decided: say goodbye politely (raw, whatever state the encoder is in), then close. */
    private void quit() {
        complete();
        if (!ctx.channel().isActive()) {
            return;
        }
        LOG.debug("{}: >>> QUIT", id);
        step = Step.QUIT;
        arm(target.timeouts().command());
        ctx.writeAndFlush(ByteBufUtil.writeAscii(ctx.alloc(), "QUIT\r\n"));
    }

    private void quitAndFail(String detail) {
        decideAll(new TransientFailure(detail));
        quit();
    }

    /** Something went wrong on the connection: every recipient not yet decided is deferred; close. */
    private void fail(String detail) {
        if (!job.result().isDone()) {
            decideAll(new TransientFailure(detail));
            complete();
        }
        close();
    }

    private void close() {
        cancelTimer();
        step = Step.DONE;
        if (ctx != null) {
            ctx.close();
        }
    }

    private void decideAll(Outcome outcome) {
        for (MailAddress r : job.envelope().recipients()) {
            decided.putIfAbsent(r, outcome);
        }
    }

    private void decideAccepted(Outcome outcome) {
        for (MailAddress r : accepted) {
            decided.putIfAbsent(r, outcome);
        }
    }

    private void complete() {
        if (job.result().isDone()) {
            return;
        }
        decideAll(new TransientFailure("no outcome from " + job.hostPort() + " (internal error)"));
        Map<MailAddress, Outcome> byRecipient = new LinkedHashMap<>();
        for (MailAddress r : job.envelope().recipients()) {
            byRecipient.put(r, decided.get(r));
        }
        DeliveryReport report = new DeliveryReport(target.name(), byRecipient);
        log(report);
        job.result().complete(report);
    }

    private void log(DeliveryReport report) {
        for (Map.Entry<MailAddress, Outcome> e : report.byRecipient().entrySet()) {
            Outcome o = e.getValue();
            String what = switch (o) {
                case Delivered d -> "delivered";
                case TransientFailure t -> "deferred";
                case PermanentFailure p -> "refused";
            };
            LOG.info("{}: to={} via {} ({}) {}: {}", id, e.getKey(), target.name(), job.hostPort(), what,
                    o.detail());
        }
    }

    private void arm(Duration timeout) {
        cancelTimer();
        Step armedFor = step;
        timer = ctx.executor().schedule(() -> onTimeout(armedFor), timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    private void onTimeout(Step armedFor) {
        if (step != armedFor) {
            return;
        }
        if (armedFor == Step.QUIT || job.result().isDone()) {
            close();
        } else if (armedFor == Step.DATA_BODY) {
            fail("timeout sending the message data to " + job.hostPort() + " (upstream not reading)");
        } else {
            fail("timeout waiting for " + armedFor.waitingFor + " from " + job.hostPort());
        }
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private String heloName() {
        if (job.heloName() != null) {
            return job.heloName();
        }
        SocketAddress local = ctx.channel().localAddress();
        if (local instanceof InetSocketAddress inet && inet.getAddress() != null) {
            String literal = inet.getAddress().getHostAddress();
            int zone = literal.indexOf('%');
            if (zone >= 0) {
                literal = literal.substring(0, zone);
            }
            return inet.getAddress() instanceof Inet6Address ? "[IPv6:" + literal + "]" : "[" + literal + "]";
        }
        return "localhost";
    }

    // ---- small helpers -----------------------------------------------------------------------------------------

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > 127) {
                return false;
            }
        }
        return true;
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }

    static String describe(Throwable t) {
        if (t == null) {
            return "unknown cause";
        }
        String msg = t.getMessage();
        return msg == null || msg.isBlank() ? t.getClass().getSimpleName() : msg;
    }

    private static String truncate(String s) {
        return s.length() <= 300 ? s : s.substring(0, 300) + "...";
    }

    private static <T extends Throwable> T find(Throwable t, Class<T> type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return type.cast(c);
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return null;
    }
}
