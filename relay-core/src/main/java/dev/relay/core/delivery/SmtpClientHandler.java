package dev.relay.core.delivery;

import dev.relay.config.TlsMode;
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
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.smtp.DefaultLastSmtpContent;
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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection to the upstream, as a state machine driven by its replies: the session (greeting, EHLO,
 * STARTTLS, AUTH) once, then one mail transaction after another ({@link SmtpTransaction}), the connection going
 * back to its {@link ConnectionOwner} as idle in between and each later transaction starting with RSET. With PIPELINING (RFC 2920) MAIL, every
 * RCPT and DATA go in one flight and the replies are matched in order; otherwise it is lockstep. Runs on the
 * channel's event loop only, so it needs no locking.
 *
 * <p>Every step is timed; a timeout, a dropped connection, a TLS failure or a malformed reply decides every
 * recipient of the transaction not yet decided as a transient failure and closes the connection. So does any
 * 4xx in a transaction: such a connection is never reused. Each job's future is completed exactly once.
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
        AUTH_TOKEN("AUTH", "OAuth2 access token"),
        AUTH_XOAUTH2("AUTH", "AUTH XOAUTH2 reply"),
        AUTH("AUTH", "AUTH reply"),
        AUTH_LOGIN_USER("AUTH", "AUTH LOGIN username prompt"),
        AUTH_LOGIN_PASS("AUTH", "AUTH LOGIN password prompt"),
        MAIL("MAIL FROM", "MAIL FROM reply"),
        RCPT("RCPT TO", "RCPT TO reply"),
        DATA("DATA", "DATA reply"),
        DATA_BODY("DATA", "message data to be sent"),
        DATA_END("DATA", "end-of-data reply"),
        EMPTY_DATA_END("DATA", "reply to the empty message"),
        RSET("RSET", "RSET reply"),
        IDLE("idle", "a message to send"),
        QUIT("QUIT", "QUIT reply"),
        DONE("end", "nothing");

        final String phase;
        final String waitingFor;

        Step(String phase, String waitingFor) {
            this.phase = phase;
            this.waitingFor = waitingFor;
        }
    }

    /** Where an idle connection goes, and who hears that the upstream asks us to slow down. */
    interface ConnectionOwner {
        /** The connection finished a transaction (or its session) cleanly and can take another message. */
        void idle(SmtpClientHandler connection);

        /**
         * A reused connection died before the upstream answered anything of {@code job}'s transaction (the
         * upstream had closed it meanwhile): nothing was delivered, so the job goes to another connection.
         */
        void retry(DeliveryJob job);

        /** The upstream answered with a throttling reply ({@link SmtpReply#isThrottling}). */
        void throttled(SmtpReply reply);
    }

    private final ConnectionSettings settings;
    private final UpstreamTarget target;
    private final ConnectionOwner owner;
    private final String hostPort;
    private final Deque<Step> pipelined = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private Step step = Step.GREETING;
    private EhloExtensions extensions = EhloExtensions.NONE;
    private boolean tlsActive;
    private SmtpTransaction tx;
    private boolean utf8Addresses;
    private int transactions;
    private boolean reusable = true;
    private boolean needsReset;
    private String token;
    private ScheduledFuture<?> timer;

    /** A connection whose session is set up for {@code first}, which it delivers once the session stands. */
    SmtpClientHandler(ConnectionSettings settings, ConnectionOwner owner, DeliveryJob first) {
        this.settings = settings;
        this.target = settings.target();
        this.owner = owner;
        this.hostPort = settings.hostPort();
        this.tx = new SmtpTransaction(first, target.name(), hostPort);
    }

    // ---- what the pool calls -----------------------------------------------------------------------------------

    /** Starts a transaction for {@code job} if this connection is idle; false (nothing done) if it is not. */
    boolean start(DeliveryJob job) {
        if (step != Step.IDLE || ctx == null || !ctx.channel().isActive()) {
            return false;
        }
        cancelTimer();
        tx = new SmtpTransaction(job, target.name(), hostPort);
        sendTransaction();
        return true;
    }

    boolean isIdle() {
        return step == Step.IDLE && ctx != null && ctx.channel().isActive();
    }

    /** Ends an idle connection politely (QUIT); a busy one finishes its transaction first. */
    void retire() {
        reusable = false;
        if (step == Step.IDLE) {
            quit();
        }
    }

    /** The connection could not be made: the first job is deferred with {@code detail}. */
    void connectFailed(String detail) {
        if (tx != null && !tx.isDone()) {
            tx.failAll(detail);
            tx.complete();
        }
        step = Step.DONE;
    }

    /** The transaction in progress, or null. For tests. */
    SmtpTransaction transaction() {
        return tx;
    }

    Step step() {
        return step;
    }

    // ---- Netty events ------------------------------------------------------------------------------------------

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        this.ctx = ctx;
        LOG.debug("{}: connected to {} ({})", id(), hostPort, target.name());
        arm(target.timeouts().greeting());
        super.channelActive(ctx);
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
        fail("upstream " + hostPort + " sent data after its STARTTLS reply, before the TLS handshake "
                + "(possible injection); refusing");
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, SmtpResponse response) {
        SmtpReply reply = SmtpReply.of(response);
        LOG.debug("{}: <<< {}", id(), reply);
        cancelTimer();
        if (step == Step.QUIT || step == Step.DONE || step == Step.IDLE) {
            close(); // a reply nobody asked for (e.g. "421 idle too long") or the QUIT reply: we are done here
            return;
        }
        if (step == Step.TLS_HANDSHAKE) {
            injected();
            return;
        }
        if (!reply.isWellFormed()) {
            fail("protocol error: invalid reply code from " + hostPort + " during " + step.phase + ": " + reply);
            return;
        }
        if (reply.isThrottling() && reusable) {
            reusable = false;
            owner.throttled(reply);
        }
        switch (step) {
            case GREETING -> onGreeting(reply);
            case EHLO -> onEhlo(reply);
            case HELO -> onHelo(reply);
            case STARTTLS -> onStartTls(reply);
            case AUTH_XOAUTH2 -> onXoauth2(reply);
            case AUTH -> onAuth(reply);
            case AUTH_LOGIN_USER, AUTH_LOGIN_PASS -> onAuthLoginPrompt(reply);
            case MAIL -> onMail(reply);
            case RCPT -> onRcpt(reply);
            case DATA -> onData(reply);
            case DATA_BODY, DATA_END -> onDataEnd(reply);
            case EMPTY_DATA_END -> finishTransaction();
            case RSET -> onRset(reply);
            default -> fail("protocol error: unexpected reply from " + hostPort + " during " + step.phase + ": "
                    + reply);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof SslHandshakeCompletionEvent e) {
            if (!e.isSuccess()) {
                fail("TLS handshake with " + hostPort + " failed: " + describe(e.cause()));
                return;
            }
            tlsActive = true;
            SslHandler ssl = ctx.pipeline().get(SslHandler.class);
            LOG.debug("{}: TLS established with {} ({}, {})", id(), hostPort,
                    ssl == null ? "?" : ssl.engine().getSession().getProtocol(),
                    ssl == null ? "?" : ssl.engine().getSession().getCipherSuite());
            if (step == Step.TLS_HANDSHAKE) {
                cancelTimer();
                sendEhlo();
            }
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (tx != null && !tx.isDone()) {
            fail("connection closed by upstream " + hostPort + " during " + step.phase);
        }
        cancelTimer();
        step = Step.DONE;
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (tx == null || tx.isDone()) {
            LOG.debug("{}: connection to {} ends: {}", id(), hostPort, cause.toString());
            close();
            return;
        }
        SSLException ssl = find(cause, SSLException.class);
        if (ssl != null) {
            fail((tlsActive ? "TLS error with " : "TLS handshake with ") + hostPort
                    + (tlsActive ? ": " : " failed: ") + describe(ssl));
        } else if (cause instanceof DecoderException) {
            String msg = describe(cause);
            fail("protocol error: malformed reply from " + hostPort + " during " + step.phase
                    + (msg.startsWith("Received invalid line") || msg.startsWith("frame length")
                    ? ": " + truncate(msg) : ""));
        } else if (find(cause, IOException.class) != null) {
            fail("connection error with " + hostPort + " during " + step.phase + ": "
                    + describe(find(cause, IOException.class)));
        } else {
            LOG.warn("{}: unexpected error talking to {}", id(), hostPort, cause);
            fail("unexpected error during " + step.phase + " with " + hostPort + ": " + cause);
        }
    }

    // ---- the session -------------------------------------------------------------------------------------------

    private void onGreeting(SmtpReply reply) {
        if (reply.code() == 220) {
            sendEhlo();
        } else if (reply.isTransient() || reply.isPermanent()) {
            quitAndFail("upstream " + hostPort + " refused the session: " + reply);
        } else {
            fail("protocol error: unexpected greeting from " + hostPort + ": " + reply);
        }
    }

    private void onEhlo(SmtpReply reply) {
        if (reply.isPositive()) {
            extensions = EhloExtensions.parse(reply);
            afterHello();
        } else if (reply.isPermanent() && target.tls() != TlsMode.STARTTLS) {
            send(SmtpRequests.helo(heloName()), "HELO " + heloName(), Step.HELO, target.timeouts().command());
        } else {
            quitAndFail("EHLO refused by " + hostPort + ": " + reply);
        }
    }

    private void onHelo(SmtpReply reply) {
        if (reply.isPositive()) {
            extensions = EhloExtensions.NONE;
            afterHello();
        } else {
            quitAndFail("HELO refused by " + hostPort + ": " + reply);
        }
    }

    private void afterHello() {
        if (target.tls() == TlsMode.STARTTLS && !tlsActive) {
            if (!extensions.startTls()) {
                quitAndFail("upstream " + hostPort + " does not offer STARTTLS; refusing to send in plaintext");
                return;
            }
            send(new DefaultSmtpRequest(STARTTLS), "STARTTLS", Step.STARTTLS, target.timeouts().command());
        } else if (target.authenticates()) {
            startAuth();
        } else {
            sendTransaction();
        }
    }

    private void onStartTls(SmtpReply reply) {
        if (reply.code() != 220) {
            quitAndFail("STARTTLS refused by " + hostPort + ": " + reply);
            return;
        }
        step = Step.TLS_HANDSHAKE;
        arm(target.timeouts().command());
        // RFC 3207 section 6: nothing received before the handshake may count after it. Replacing the decoder
        // hands any bytes the old one still holds to channelRead (now, synchronously), which fails the delivery.
        ctx.pipeline().replace(SmtpResponseDecoder.class, NettyDeliveryEngine.DECODER,
                new SmtpResponseDecoder(NettyDeliveryEngine.MAX_REPLY_LINE));
        if (step != Step.TLS_HANDSHAKE) {
            return;
        }
        ctx.pipeline().addFirst("tls",
                ClientTlsContexts.newHandler(settings.tls(), ctx.alloc(), target.host(), target.port()));
    }

    private void startAuth() {
        if (!tlsActive && !plaintextAllowed()) {
            quitAndFail("refusing to send credentials to " + hostPort + " without TLS (tls: none is for "
                    + "loopback upstreams only)");
            return;
        }
        Set<String> offered = extensions.authMechanisms();
        boolean plain = offered.contains("PLAIN");
        boolean login = offered.contains("LOGIN");
        switch (target.auth()) {
            case XOAUTH2 -> {
                if (offered.contains("XOAUTH2")) {
                    fetchToken();
                } else {
                    noMechanism("XOAUTH2");
                }
            }
            case PLAIN -> {
                if (plain) {
                    authPlain();
                } else {
                    noMechanism("PLAIN");
                }
            }
            case LOGIN -> {
                if (login) {
                    authLogin();
                } else {
                    noMechanism("LOGIN");
                }
            }
            case AUTO -> {
                if (plain) {
                    authPlain();
                } else if (login) {
                    authLogin();
                } else {
                    noMechanism("PLAIN, LOGIN");
                }
            }
        }
    }

    /** Plaintext credentials only where the configuration allows no TLS at all: a loopback upstream. */
    private boolean plaintextAllowed() {
        return target.tls() == TlsMode.NONE && ctx.channel().remoteAddress() instanceof InetSocketAddress a
                && a.getAddress() != null && a.getAddress().isLoopbackAddress();
    }

    private void noMechanism(String wanted) {
        quitAndFail("upstream " + hostPort + " offers no supported AUTH mechanism (" + wanted + "); offered: "
                + extensions.authMechanisms());
    }

    private void authPlain() {
        byte[] secret = ("\0" + target.username() + "\0" + nullToEmpty(target.password()))
                .getBytes(StandardCharsets.UTF_8);
        send(SmtpRequests.auth("PLAIN", Base64.getEncoder().encodeToString(secret)), "AUTH PLAIN ********",
                Step.AUTH, target.timeouts().command());
    }

    private void authLogin() {
        send(SmtpRequests.auth("LOGIN"), "AUTH LOGIN", Step.AUTH_LOGIN_USER, target.timeouts().command());
    }

    /** Asks the token source (cached, or one HTTP request) without blocking the event loop. */
    private void fetchToken() {
        step = Step.AUTH_TOKEN;
        arm(target.timeouts().command());
        settings.tokens().token().whenComplete((t, error) -> ctx.executor().execute(() -> onToken(t, error)));
    }

    private void onToken(String accessToken, Throwable error) {
        if (step != Step.AUTH_TOKEN) {
            return; // timed out or closed meanwhile
        }
        cancelTimer();
        if (error != null) {
            quitAndFail("cannot obtain an OAuth2 access token for upstream " + target.name() + ": "
                    + describe(error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                    ? error.getCause() : error));
            return;
        }
        token = accessToken;
        send(SmtpRequests.auth("XOAUTH2", Xoauth2.initialResponse(target.username(), accessToken)),
                "AUTH XOAUTH2 ********", Step.AUTH_XOAUTH2, target.timeouts().command());
    }

    private void onXoauth2(SmtpReply reply) {
        if (reply.code() == 235) {
            onAuth(reply);
            return;
        }
        settings.tokens().invalidate(token);
        if (reply.code() == 334) { // RFC 7628-style error challenge: answer with an empty line, get the real reply
            send(SmtpRequests.empty(), "(empty line after the XOAUTH2 error challenge)", Step.AUTH,
                    target.timeouts().command());
        } else {
            authFailed(reply);
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
            LOG.debug("{}: authenticated to {} as {}", id(), hostPort, target.username());
            sendTransaction();
        } else {
            if (token != null) {
                settings.tokens().invalidate(token);
            }
            authFailed(reply);
        }
    }

    /** Any refusal of our credentials is the relay's problem, never the sender's: transient. */
    private void authFailed(SmtpReply reply) {
        quitAndFail("authentication as " + target.username() + " to " + hostPort + " failed: " + reply);
    }

    // ---- the transaction ---------------------------------------------------------------------------------------

    private void sendTransaction() {
        Envelope envelope = tx.job().envelope();
        BodyScan scan = tx.job().scan();
        MailAddress sender = envelope.sender();
        boolean nonAsciiAddresses = !isAscii(sender.value())
                || envelope.recipients().stream().anyMatch(r -> !isAscii(r.value()));
        utf8Addresses = nonAsciiAddresses || envelope.smtputf8();
        if (utf8Addresses && !extensions.smtpUtf8()) {
            tx.decideAll(new PermanentFailure((nonAsciiAddresses ? "the envelope has non-ASCII addresses"
                    : "the message was submitted with SMTPUTF8") + " and upstream " + hostPort
                    + " does not offer SMTPUTF8 (RFC 6531)"));
            finishTransaction();
            return;
        }
        if (extensions.sizeExceeded(scan.size())) {
            tx.decideAll(new PermanentFailure("message size " + scan.size() + " exceeds the limit of "
                    + extensions.maxSize() + " bytes of upstream " + hostPort));
            finishTransaction();
            return;
        }
        List<String> params = new ArrayList<>(3);
        if (extensions.maxSize() >= 0) {
            params.add("SIZE=" + scan.size());
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
            send(SmtpRequests.rset(), "RSET", Step.RSET, target.timeouts().command()); // then sendTransaction again
            return;
        }
        if (extensions.pipelining()) {
            // RFC 2920: [RSET,] MAIL, every RCPT and DATA in one flight; the replies come back in the same order
            if (reset) {
                write(SmtpRequests.rset(), "RSET");
                pipelined.add(Step.MAIL);
            }
            write(mailRequest(sender, params, mailLine), mailLine);
            for (MailAddress r : envelope.recipients()) {
                write(rcptRequest(r), "RCPT TO:" + r.bracketed());
                pipelined.add(Step.RCPT);
            }
            write(SmtpRequests.data(), "DATA");
            pipelined.add(Step.DATA);
            step = reset ? Step.RSET : Step.MAIL;
            arm(target.timeouts().command());
            ctx.flush();
        } else {
            sendRaw(mailRequest(sender, params, mailLine), mailLine, Step.MAIL);
        }
    }

    /** A request object, or with UTF-8 addresses the raw line (the codec's encoder writes ASCII only). */
    private Object mailRequest(MailAddress sender, List<String> params, String line) {
        if (utf8Addresses) {
            return ByteBufUtil.writeUtf8(ctx.alloc(), line + "\r\n");
        }
        return SmtpRequests.mail(sender.isNullSender() ? null : sender.value(), params.toArray(CharSequence[]::new));
    }

    private Object rcptRequest(MailAddress rcpt) {
        if (utf8Addresses) {
            return ByteBufUtil.writeUtf8(ctx.alloc(), "RCPT TO:" + rcpt.bracketed() + "\r\n");
        }
        return SmtpRequests.rcpt(rcpt.value());
    }

    /** With PIPELINING, the next reply of the flight; returns false if the flight is over. */
    private boolean nextPipelined() {
        Step next = pipelined.poll();
        if (next == null) {
            return false;
        }
        step = next;
        arm(target.timeouts().command());
        return true;
    }

    private void onMail(SmtpReply reply) {
        if (reply.isIntermediate()) {
            fail("protocol error: unexpected reply to MAIL FROM from " + hostPort + ": " + reply);
            return;
        }
        boolean flight = !pipelined.isEmpty();
        tx.mailReply(reply);
        if (flight) {
            nextPipelined();
        } else if (tx.mailAccepted()) {
            sendRcpt();
        } else {
            finishTransaction();
        }
    }

    private void sendRcpt() {
        MailAddress rcpt = tx.recipients().get(tx.rcptReplies());
        sendRaw(rcptRequest(rcpt), "RCPT TO:" + rcpt.bracketed(), Step.RCPT);
    }

    private void onRcpt(SmtpReply reply) {
        if (reply.isIntermediate()) {
            fail("protocol error: unexpected reply to RCPT TO from " + hostPort + ": " + reply);
            return;
        }
        boolean flight = !pipelined.isEmpty();
        tx.rcptReply(reply);
        if (flight) {
            nextPipelined();
        } else if (!tx.allRcptsAnswered()) {
            sendRcpt();
        } else if (tx.hasAccepted()) {
            send(SmtpRequests.data(), "DATA", Step.DATA, target.timeouts().command());
        } else {
            finishTransaction();
        }
    }

    private void onData(SmtpReply reply) {
        if (reply.code() == 354) {
            if (tx.hasAccepted()) {
                sendBody();
            } else {
                // RFC 2920 section 3.1: DATA went out in the flight, no recipient was accepted, yet the server
                // wants the content: send a lone "." (an empty message, which it must refuse for want of
                // recipients); RSET follows
                LOG.debug("{}: >>> . (no recipient accepted)", id());
                step = Step.EMPTY_DATA_END;
                arm(target.timeouts().dataEnd());
                ctx.writeAndFlush(new DefaultLastSmtpContent(Unpooled.EMPTY_BUFFER))
                        .addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
            }
        } else if (reply.isTransient() || reply.isPermanent()) {
            tx.acceptedReply(reply); // the RSET that follows also ends the encoder's "content expected" state
            finishTransaction();
        } else {
            fail("protocol error: unexpected reply to DATA from " + hostPort + ": " + reply);
        }
    }

    private void sendBody() {
        DotStuffedBody body;
        try {
            body = new DotStuffedBody(tx.job().body(), tx.job().scan().size());
        } catch (IOException e) {
            fail("cannot read the message content: " + describe(e));
            return;
        }
        step = Step.DATA_BODY;
        arm(target.timeouts().dataBlock());
        SmtpTransaction current = tx;
        ChannelProgressivePromise promise = ctx.newProgressivePromise();
        promise.addListener(new ChannelProgressiveFutureListener() {
            @Override
            public void operationProgressed(ChannelProgressiveFuture future, long progress, long total) {
                if (step == Step.DATA_BODY && tx == current) {
                    arm(target.timeouts().dataBlock());
                }
            }

            @Override
            public void operationComplete(ChannelProgressiveFuture future) {
                if (!future.isSuccess()) {
                    if (!current.isDone()) {
                        fail("sending the message data to " + hostPort + " failed: " + describe(future.cause()));
                    }
                } else if (step == Step.DATA_BODY && tx == current) {
                    step = Step.DATA_END;
                    arm(target.timeouts().dataEnd());
                }
            }
        });
        LOG.debug("{}: >>> ({} bytes of message data)", id(), tx.job().scan().size());
        ctx.writeAndFlush(body, promise);
    }

    private void onDataEnd(SmtpReply reply) {
        if (reply.isIntermediate()) {
            fail("protocol error: unexpected reply after the message data from " + hostPort + ": " + reply);
            return;
        }
        tx.acceptedReply(reply);
        finishTransaction();
    }

    /**
     * The outcome is decided: report it, then make the connection ready for the next message (RSET) or, after a
     * 4xx, a throttling reply or the last message allowed on it, say goodbye.
     */
    private void finishTransaction() {
        boolean trouble = tx.sawTransient();
        tx.complete();
        tx = null;
        transactions++;
        pipelined.clear();
        if (trouble || !reusable || transactions >= target.pool().maxMessagesPerConnection()) {
            quit();
        } else {
            // idle now; the next transaction starts with RSET (in its flight, with PIPELINING), so a message
            // never waits for an extra round trip and the upstream starts every transaction from a clean state
            needsReset = true;
            step = Step.IDLE;
            arm(target.pool().idleTimeout());
            owner.idle(this);
        }
    }

    private void onRset(SmtpReply reply) {
        if (!reply.isPositive()) {
            fail("RSET refused by " + hostPort + ": " + reply);
            return;
        }
        if (!nextPipelined()) {
            sendTransaction();
        }
    }

    // ---- sending, timing, finishing ----------------------------------------------------------------------------

    private void sendEhlo() {
        send(SmtpRequests.ehlo(heloName()), "EHLO " + heloName(), Step.EHLO, target.timeouts().command());
    }

    private void send(SmtpRequest request, String forLog, Step next, Duration timeout) {
        LOG.debug("{}: >>> {}", id(), forLog);
        step = next;
        arm(timeout);
        ctx.writeAndFlush(request).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
    }

    private void sendRaw(Object request, String forLog, Step next) {
        LOG.debug("{}: >>> {}", id(), forLog);
        step = next;
        arm(target.timeouts().command());
        ctx.writeAndFlush(request).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
    }

    private void write(Object request, String forLog) {
        LOG.debug("{}: >>> {}", id(), forLog);
        ctx.write(request).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
    }

    /** Say goodbye politely (raw, whatever state the encoder is in), then close. */
    private void quit() {
        if (tx != null) {
            tx.complete();
            tx = null;
        }
        if (!ctx.channel().isActive()) {
            close();
            return;
        }
        LOG.debug("-: >>> QUIT to {}", hostPort);
        step = Step.QUIT;
        arm(target.timeouts().command());
        ctx.writeAndFlush(ByteBufUtil.writeAscii(ctx.alloc(), "QUIT\r\n"));
    }

    private void quitAndFail(String detail) {
        tx.failAll(detail);
        quit();
    }

    /** Something went wrong on the connection: every recipient not yet decided is deferred; close. */
    private void fail(String detail) {
        if (tx != null && !tx.isDone() && step == Step.RSET && !tx.job().retried()) {
            LOG.debug("{}: reused connection to {} failed before any reply ({}); another connection takes it",
                    tx.id(), hostPort, detail);
            DeliveryJob job = tx.job();
            tx = null;
            close();
            owner.retry(job.asRetry());
            return;
        }
        if (tx != null && !tx.isDone()) {
            tx.failAll(detail);
            tx.complete();
        }
        tx = null;
        close();
    }

    private void close() {
        cancelTimer();
        step = Step.DONE;
        if (ctx != null) {
            ctx.close();
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
        if (armedFor == Step.IDLE) {
            LOG.debug("-: closing the idle connection to {} ({})", hostPort, target.name());
            quit();
        } else if (armedFor == Step.QUIT || tx == null || tx.isDone()) {
            close();
        } else if (armedFor == Step.DATA_BODY) {
            fail("timeout sending the message data to " + hostPort + " (upstream not reading)");
        } else {
            fail("timeout waiting for " + armedFor.waitingFor + " from " + hostPort);
        }
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private String id() {
        return tx == null ? "-" : tx.id();
    }

    private String heloName() {
        if (settings.heloName() != null) {
            return settings.heloName();
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
