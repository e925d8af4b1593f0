package dev.relay.core.delivery;

import dev.relay.config.TlsMode;
import dev.relay.core.delivery.Outcome.TransientFailure;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.smtp.SmtpRequestEncoder;
import io.netty.handler.codec.smtp.SmtpResponseDecoder;
import io.netty.handler.stream.ChunkedWriteHandler;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connections to one upstream and the messages waiting for them. Everything runs on one event loop (the
 * connections are registered on it too), so the state needs no locks and no thread ever waits: a message that
 * finds no free connection, or no rate-limit token, stays in {@code waiting} until a connection comes back idle,
 * one closes, or the token is due.
 *
 * <p>At most {@code max-connections} connections carry a message at once (fewer after throttling replies, see
 * {@link Backpressure}); an idle connection is reused (most recently used first, so surplus ones reach their idle
 * timeout) before a new one is opened.
 */
final class ConnectionPool implements ConnectionOwner {
    private static final Logger LOG = LoggerFactory.getLogger(ConnectionPool.class);
    /** A message that would wait longer than this for the rate limit (a used-up daily quota) is deferred. */
    static final Duration MAX_RATE_WAIT = Duration.ofMinutes(1);
    /** The shared quota's database round trips: a virtual thread each, never the event loop. */
    private static final java.util.concurrent.Executor SHARED_QUOTA_CALLS =
            r -> Thread.ofVirtual().name("shared-quota").start(r);

    private final ConnectionSettings settings;
    private final UpstreamTarget target;
    private final EventLoop loop;
    private final DeliveryListener listener;
    private final LongSupplier nanoTime;
    private final Limiter rate;
    private final Backpressure pressure;
    private final ChannelGroup channels;
    private final ArrayDeque<DeliveryJob> waiting = new ArrayDeque<>();
    private final ArrayDeque<SmtpClientHandler> idle = new ArrayDeque<>();
    private final Set<SmtpClientHandler> busy = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Set<SmtpClientHandler> all = Collections.newSetFromMap(new IdentityHashMap<>());
    private int open;
    private boolean closed;
    private ScheduledFuture<?> wakeUp;
    private long wakeUpAt;
    // read from other threads for stats()
    private volatile long opened;
    private volatile long reused;
    private volatile long rateLimited;
    private volatile long throttled;
    private volatile int openNow;
    private volatile int idleNow;
    private volatile int waitingNow;
    private volatile int concurrencyNow;
    /** The account problems raised and not yet over (by a delivery), by reason; on the event loop only. */
    private final java.util.Map<String, AccountReplies.Verdict> accountProblems = new java.util.LinkedHashMap<>();
    private boolean deliveredOnce;

    /** @param quota the rate limit shared with other replicas, or null for a local one */
    ConnectionPool(ConnectionSettings settings, EventLoop loop, DeliveryListener listener, LongSupplier nanoTime,
                   Backpressure pressure, SharedQuota quota) {
        this.settings = settings;
        this.target = settings.target();
        this.loop = loop;
        this.listener = listener;
        this.nanoTime = nanoTime;
        this.pressure = pressure;
        this.rate = !target.rate().limited() ? null : quota == null
                ? new RateLimiter(target.rate(), nanoTime.getAsLong())
                : new SharedRateLimiter(target.name(), target.rate(), quota, SHARED_QUOTA_CALLS, nanoTime,
                        () -> loop.execute(this::dispatch));
        this.channels = new DefaultChannelGroup("delivery-" + target.name(), loop);
        this.concurrencyNow = target.pool().maxConnections();
    }

    /** Queues the job; it starts as soon as a connection and the rate limit allow. Any thread. */
    void submit(DeliveryJob job) {
        loop.execute(() -> {
            if (closed) {
                rejectClosed(job);
                return;
            }
            waiting.add(job);
            dispatch();
        });
    }

    /** Starts as many waiting jobs as the limits allow. */
    private void dispatch() {
        try {
            while (!waiting.isEmpty() && !closed) {
                long now = nanoTime.getAsLong();
                int cap = pressure.concurrency(target.pool().maxConnections(), now);
                concurrencyNow = cap;
                if (busy.size() >= cap) {
                    return; // a connection coming back idle or closing calls dispatch again
                }
                long wait = pressure.pause(now);
                if (wait == 0 && rate != null) {
                    wait = rate.tryAcquire(now, pressure.rateFactor(now));
                    if (wait > MAX_RATE_WAIT.toNanos()) {
                        deferAllWaiting(now, pressure.rateFactor(now));
                        return;
                    }
                }
                if (wait > 0) {
                    rateLimited++;
                    notify(() -> listener.rateLimited(target.name()));
                    wakeUpIn(now, wait);
                    return;
                }
                SmtpClientHandler connection = pollIdle();
                DeliveryJob job = waiting.poll();
                if (connection != null) {
                    busy.add(connection);
                    reused++;
                    notify(() -> listener.connectionReused(target.name()));
                    if (!connection.start(job)) { // cannot happen on one event loop; be safe all the same
                        busy.remove(connection);
                        waiting.addFirst(job);
                    }
                } else {
                    connect(job);
                }
            }
        } finally {
            updateGauges();
        }
    }

    private SmtpClientHandler pollIdle() {
        for (SmtpClientHandler c = idle.pollFirst(); c != null; c = idle.pollFirst()) {
            if (c.isIdle()) {
                return c;
            }
        }
        return null;
    }

    /**
     * The rate limit cannot let a message go within {@link #MAX_RATE_WAIT}: defer the waiting ones now, without an
     * attempt, each until the limiter will grant its token (the first at the next grant, the second at the one
     * after, ...), so that they come back one by one as the window reopens rather than all at once.
     */
    private void deferAllWaiting(long now, double factor) {
        String detail = "rate limit of upstream " + target.name() + " reached (per-day " + target.rate().perDay()
                + ", per-second " + target.rate().perSecond() + "); deferred";
        long n = 0;
        for (DeliveryJob job = waiting.poll(); job != null; job = waiting.poll()) {
            Duration retryAfter = Duration.ofNanos(rate.untilGrant(now, factor, ++n));
            LOG.info("{}: {} for {}", job.id(), detail, retryAfter);
            rateLimited++;
            notify(() -> listener.rateLimited(target.name()));
            job.result().complete(DeliveryReport.notAttempted(target.name(), job.envelope().recipients(), detail,
                    retryAfter));
        }
    }

    private void wakeUpIn(long now, long nanos) {
        long at = now + nanos;
        // a wake-up due by now is the one running this dispatch (not done until it returns): it wakes nobody later
        if (wakeUp != null && !wakeUp.isDone() && wakeUpAt <= at && wakeUpAt - now > 0) {
            return;
        }
        if (wakeUp != null) {
            wakeUp.cancel(false);
        }
        wakeUpAt = at;
        wakeUp = loop.schedule(this::dispatch, nanos, TimeUnit.NANOSECONDS);
    }

    private void connect(DeliveryJob job) {
        SmtpClientHandler handler = new SmtpClientHandler(settings, this, job);
        busy.add(handler);
        all.add(handler);
        open++;
        opened++;
        notify(() -> listener.connectionOpened(target.name()));
        try {
            Bootstrap bootstrap = new Bootstrap()
                    .group(loop)
                    .channel(NioSocketChannel.class)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                            (int) Math.min(Integer.MAX_VALUE, target.timeouts().connect().toMillis()))
                    .option(ChannelOption.TCP_NODELAY, true)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ChannelPipeline p = ch.pipeline();
                            if (target.tls() == TlsMode.IMPLICIT) {
                                p.addLast("tls", ClientTlsContexts.newHandler(settings.tls(), ch.alloc(),
                                        target.host(), target.port()));
                            }
                            p.addLast(NettyDeliveryEngine.DECODER,
                                    new SmtpResponseDecoder(NettyDeliveryEngine.MAX_REPLY_LINE));
                            p.addLast("smtp-encoder", new SmtpRequestEncoder());
                            p.addLast("chunked", new ChunkedWriteHandler());
                            p.addLast("smtp-client", handler);
                        }
                    });
            ChannelFuture connect = bootstrap.connect(target.host(), target.port());
            Channel channel = connect.channel();
            channels.add(channel);
            channel.closeFuture().addListener(f -> loop.execute(() -> closed(handler)));
            connect.addListener(f -> {
                if (!f.isSuccess()) {
                    String detail = f.cause() instanceof ConnectTimeoutException
                            ? "timeout connecting to " + settings.hostPort()
                            : "cannot connect to " + settings.hostPort() + ": "
                            + UpstreamTrouble.describe(f.cause());
                    LOG.info("{}: to={} via {} ({}) deferred: {}", job.id(), job.envelope().recipients(),
                            target.name(), settings.hostPort(), detail);
                    handler.connectFailed(detail);
                }
            });
        } catch (RuntimeException e) {
            LOG.warn("{}: cannot start a connection to {}", job.id(), settings.hostPort(), e);
            handler.connectFailed("cannot start a connection to " + settings.hostPort() + ": " + e);
            closed(handler);
        }
    }

    private void closed(SmtpClientHandler connection) {
        if (!all.remove(connection)) {
            return;
        }
        busy.remove(connection);
        idle.remove(connection);
        open--;
        notify(() -> listener.connectionClosed(target.name()));
        dispatch();
    }

    @Override
    public void idle(SmtpClientHandler connection) {
        busy.remove(connection);
        long now = nanoTime.getAsLong();
        if (closed || open > pressure.concurrency(target.pool().maxConnections(), now)) {
            connection.retire(); // fewer connections while the upstream asks us to slow down
        } else {
            idle.addFirst(connection);
        }
        dispatch();
    }

    @Override
    public void retry(DeliveryJob job) {
        waiting.addFirst(job);
        // dispatch runs when the connection's close is seen, freeing its place
    }

    @Override
    public void throttled(SmtpReply reply) {
        long now = nanoTime.getAsLong();
        pressure.throttled(now);
        throttled++;
        int cap = pressure.concurrency(target.pool().maxConnections(), now);
        concurrencyNow = cap;
        LOG.info("-: upstream {} asks to slow down ({}): at most {} connections, pausing new messages briefly",
                target.name(), reply, cap);
        notify(() -> listener.throttled(target.name(), reply.toString()));
    }

    /**
     * A reply about the relay's account: the first of each reason logs one line with the fix (ERROR for an account
     * problem, WARN for a used-up quota) and raises the listener's gauge; the next ones of the same reason say
     * nothing until a delivery ends it ({@link #delivered}).
     */
    @Override
    public void accountProblem(AccountReplies.Verdict verdict, SmtpReply reply) {
        if (accountProblems.putIfAbsent(verdict.reason(), verdict) != null) {
            return;
        }
        if (verdict.action() == AccountReplies.Action.ACCOUNT_PROBLEM) {
            LOG.error("-: upstream {} account problem ({}): {}; messages are deferred, not bounced. Fix: {}",
                    target.name(), verdict.reason(), reply, verdict.fix());
        } else {
            LOG.warn("-: upstream {} quota used up ({}): {}; messages are deferred, not bounced{}. Fix: {}",
                    target.name(), verdict.reason(), reply,
                    verdict.deferFor() == null ? "" : " for at least " + verdict.deferFor(), verdict.fix());
        }
        notify(() -> listener.accountProblem(target.name(), verdict.reason(), verdict.fix()));
    }

    /**
     * A delivery went through: every account problem raised is over. The first delivery of a pool says so too, so
     * that what a replaced pool (a reload) raised does not stay raised.
     */
    @Override
    public void delivered() {
        if (accountProblems.isEmpty() && deliveredOnce) {
            return;
        }
        deliveredOnce = true;
        for (AccountReplies.Verdict v : accountProblems.values()) {
            LOG.info("-: upstream {} delivers again: account problem {} is over", target.name(), v.reason());
        }
        accountProblems.clear();
        notify(() -> listener.accountRecovered(target.name()));
    }

    private void notify(Runnable event) {
        try {
            event.run();
        } catch (RuntimeException e) {
            LOG.warn("-: delivery listener failed", e);
        }
    }

    private void reject(DeliveryJob job, String detail) {
        job.result().complete(DeliveryReport.all(target.name(), job.envelope().recipients(),
                new TransientFailure(detail)));
    }

    /** The pool is closed (its engine was replaced, or the relay stops): no attempt was made. */
    private void rejectClosed(DeliveryJob job) {
        job.result().complete(DeliveryReport.notAttempted(target.name(), job.envelope().recipients(),
                "delivery engine for " + target.name() + " is closed", Duration.ZERO));
    }

    private void updateGauges() {
        openNow = open;
        idleNow = idle.size();
        waitingNow = waiting.size();
    }

    UpstreamStats stats() {
        return new UpstreamStats(opened, reused, rateLimited, throttled, openNow, idleNow, waitingNow,
                concurrencyNow);
    }

    /** Defers the waiting messages and closes every connection (messages in flight are deferred too). */
    io.netty.util.concurrent.Future<?> close() {
        io.netty.util.concurrent.Promise<Object> done = loop.newPromise();
        loop.execute(() -> {
            closed = true;
            if (wakeUp != null) {
                wakeUp.cancel(false);
            }
            for (DeliveryJob job = waiting.poll(); job != null; job = waiting.poll()) {
                rejectClosed(job);
            }
            updateGauges();
            channels.close().addListener(f -> done.trySuccess(null));
        });
        return done;
    }
}
