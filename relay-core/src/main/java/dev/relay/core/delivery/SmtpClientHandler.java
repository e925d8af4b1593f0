package dev.relay.core.delivery;

import dev.relay.config.TlsMode;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.smtp.SmtpResponse;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection to the upstream, as a state machine driven by its replies: the session (greeting, EHLO and
 * STARTTLS by {@link SessionHello}, then AUTH by {@link UpstreamAuth}) once, then one mail transaction after another ({@link
 * SmtpTransaction}, sent by {@link TransactionFlight}), the connection going back to its {@link ConnectionOwner}
 * as idle in between and each later transaction starting with RSET. Runs on the channel's event loop only, so it
 * needs no locking.
 *
 * <p>Every step is timed; a timeout, a dropped connection, a TLS failure or a malformed reply decides every
 * recipient of the transaction not yet decided as a transient failure and closes the connection. So does any
 * 4xx in a transaction: such a connection is never reused. Each job's future is completed exactly once.
 */
final class SmtpClientHandler extends SimpleChannelInboundHandler<SmtpResponse> {
    private static final Logger LOG = LoggerFactory.getLogger(SmtpClientHandler.class);

    private final ConnectionSettings settings;
    private final UpstreamTarget target;
    private final ConnectionOwner owner;
    private final String hostPort;
    private final SessionHello hello;
    private final UpstreamAuth auth;
    private final TransactionFlight flight;
    private ChannelHandlerContext ctx;
    private Step step = Step.GREETING;
    private EhloExtensions extensions = EhloExtensions.NONE;
    private boolean tlsActive;
    private SmtpTransaction tx;
    private int transactions;
    private boolean reusable = true;
    private ScheduledFuture<?> timer;

    /** A connection whose session is set up for {@code first}, which it delivers once the session stands. */
    SmtpClientHandler(ConnectionSettings settings, ConnectionOwner owner, DeliveryJob first) {
        this.settings = settings;
        this.target = settings.target();
        this.owner = owner;
        this.hostPort = settings.hostPort();
        this.tx = new SmtpTransaction(first, target, hostPort);
        this.hello = new SessionHello(this, settings);
        this.auth = new UpstreamAuth(this, settings);
        this.flight = new TransactionFlight(this, settings);
    }

    // ---- what the pool calls -----------------------------------------------------------------------------------

    /** Starts a transaction for {@code job} if this connection is idle; false (nothing done) if it is not. */
    boolean start(DeliveryJob job) {
        if (step != Step.IDLE || ctx == null || !ctx.channel().isActive()) {
            return false;
        }
        cancelTimer();
        tx = new SmtpTransaction(job, target, hostPort);
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
        AccountReplies.Verdict account = target.accountReplies().classify(AccountReplies.Phase.of(step), reply);
        if ((reply.isThrottling() || account != null && account.action() == AccountReplies.Action.SLOW_DOWN)
                && reusable) {
            reusable = false;
            owner.throttled(reply);
        }
        if (account != null && account.alerts()) {
            reusable = false;
            owner.accountProblem(account, reply);
        }
        switch (step) {
            case GREETING -> hello.onGreeting(reply);
            case EHLO -> hello.onEhlo(reply);
            case HELO -> hello.onHelo(reply);
            case STARTTLS -> hello.onStartTls(reply);
            case AUTH_XOAUTH2 -> auth.onXoauth2(reply);
            case AUTH -> auth.onAuth(reply);
            case AUTH_LOGIN_USER, AUTH_LOGIN_PASS -> auth.onLoginPrompt(step, reply);
            case MAIL -> flight.onMail(tx, reply);
            case RCPT -> flight.onRcpt(tx, reply);
            case DATA -> flight.onData(tx, reply);
            case DATA_BODY, DATA_END -> flight.onDataEnd(tx, reply);
            case EMPTY_DATA_END -> finishTransaction();
            case RSET -> flight.onRset(tx, reply, extensions);
            default -> fail("protocol error: unexpected reply from " + hostPort + " during " + step.phase + ": "
                    + reply);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof SslHandshakeCompletionEvent e) {
            if (!e.isSuccess()) {
                fail("TLS handshake with " + hostPort + " failed: " + UpstreamTrouble.describe(e.cause()));
                return;
            }
            tlsActive = true;
            SslHandler ssl = ctx.pipeline().get(SslHandler.class);
            LOG.debug("{}: TLS established with {} ({}, {})", id(), hostPort,
                    ssl == null ? "?" : ssl.engine().getSession().getProtocol(),
                    ssl == null ? "?" : ssl.engine().getSession().getCipherSuite());
            if (step == Step.TLS_HANDSHAKE) {
                cancelTimer();
                hello.sendEhlo();
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
        fail(UpstreamTrouble.detail(cause, hostPort, step.phase, tlsActive, id()));
    }

    // ---- the session -------------------------------------------------------------------------------------------

    /** EHLO (or HELO) was accepted with {@code offered}: STARTTLS, AUTH or the first transaction comes next. */
    void greeted(EhloExtensions offered) {
        extensions = offered;
        if (target.tls() == TlsMode.STARTTLS && !tlsActive) {
            hello.startTls(extensions);
        } else if (target.authenticates()) {
            auth.start(extensions, tlsActive);
        } else {
            sendTransaction();
        }
    }

    /** The upstream accepted our credentials (235): on to the transaction. */
    void authenticated() {
        LOG.debug("{}: authenticated to {} as {}", id(), hostPort, target.username());
        sendTransaction();
    }

    // ---- the transaction ---------------------------------------------------------------------------------------

    private void sendTransaction() {
        flight.send(tx, extensions);
    }

    /**
     * The outcome is decided: report it, then make the connection ready for the next message (RSET) or, after a
     * 4xx, a throttling reply or the last message allowed on it, say goodbye.
     */
    void finishTransaction() {
        boolean trouble = tx.sawTransient();
        if (tx.deliveredAny()) {
            owner.delivered();
        }
        tx.complete();
        tx = null;
        transactions++;
        flight.clear();
        if (trouble || !reusable || transactions >= target.pool().maxMessagesPerConnection()) {
            quit();
        } else {
            // idle now; the next transaction starts with RSET (in its flight, with PIPELINING), so a message
            // never waits for an extra round trip and the upstream starts every transaction from a clean state
            flight.resetBeforeNext();
            step = Step.IDLE;
            arm(target.pool().idleTimeout());
            owner.idle(this);
        }
    }

    // ---- sending, timing, finishing ----------------------------------------------------------------------------

    /** Sends {@code request} (a request object or raw bytes) and waits for its reply in {@code next}. */
    void send(Object request, String forLog, Step next, Duration timeout) {
        LOG.debug("{}: >>> {}", id(), forLog);
        step = next;
        arm(timeout);
        ctx.writeAndFlush(request).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
    }

    void write(Object request, String forLog) {
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

    void quitAndFail(String detail) {
        quitAndFail(detail, null);
    }

    /** As {@link #quitAndFail(String)}, for a reason about the relay's account ({@code account} may be null). */
    void quitAndFail(String detail, AccountReplies.Verdict account) {
        tx.failAll(detail, account);
        quit();
    }

    /** Something went wrong on the connection: every recipient not yet decided is deferred; close. */
    void fail(String detail) {
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

    /** Waits for the reply (or event) of {@code next}, at most {@code timeout}. */
    void await(Step next, Duration timeout) {
        step = next;
        arm(timeout);
    }

    /** Whether the connection still waits in {@code expected}; if so its timer is stopped. */
    boolean awaiting(Step expected) {
        if (step != expected) {
            return false;
        }
        cancelTimer();
        return true;
    }

    /** Whether the connection is still in {@code expected} for the transaction {@code current}. */
    boolean isSending(Step expected, SmtpTransaction current) {
        return step == expected && tx == current;
    }

    ChannelHandlerContext ctx() {
        return ctx;
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
}
