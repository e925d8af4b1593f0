package dev.relay.core.delivery;

import dev.relay.config.TlsMode;
import dev.relay.config.UpstreamAuth;
import dev.relay.core.delivery.Outcome.TransientFailure;
import dev.relay.core.model.Envelope;
import dev.relay.core.spool.Body;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.GeneralSecurityException;
import java.time.InstantSource;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers messages to one upstream smarthost over Netty, through a pool of reused connections (STARTTLS or
 * implicit TLS, AUTH PLAIN, LOGIN or XOAUTH2, PIPELINING when offered, RSET between messages), every step timed,
 * the message rate and the concurrency limited per upstream and lowered when the upstream throttles. See
 * {@link ConnectionPool} for the pool and {@link SmtpClientHandler} for the conversation.
 *
 * <p>{@link #deliver} never blocks (a message that finds no free connection waits in a queue, not on a thread)
 * and its future never completes exceptionally. The engine is thread-safe. All connections of one engine share
 * one event loop of the group.
 */
public final class NettyDeliveryEngine implements DeliveryEngine {
    private static final Logger LOG = LoggerFactory.getLogger(NettyDeliveryEngine.class);
    /** RFC 5321 allows 512 octets per reply line; some servers send longer EHLO lines. */
    static final int MAX_REPLY_LINE = 8192;
    static final String DECODER = "smtp-decoder";
    /** Where file reads that must not block the event loop run. */
    static final Executor BLOCKING = r -> Thread.ofVirtual().name("relay-delivery-io").start(r);

    private final UpstreamTarget target;
    private final EventLoopGroup group;
    private final boolean ownGroup;
    private final ConnectionSettings settings;
    private final ConnectionPool pool;
    private volatile boolean closed;

    /** An engine with its own small event loop group, shut down by {@link #close}. */
    public NettyDeliveryEngine(UpstreamTarget target) {
        this(target, null, defaultHeloName());
    }

    /** An engine with its own small event loop group, reporting pool events to {@code listener}. */
    public NettyDeliveryEngine(UpstreamTarget target, DeliveryListener listener) {
        this(target, null, defaultHeloName(), listener);
    }

    /**
     * An engine with its own small event loop group whose rate limit is shared with other replicas through
     * {@code quota} (null: a local limit).
     */
    public NettyDeliveryEngine(UpstreamTarget target, DeliveryListener listener, SharedQuota quota) {
        this(target, null, defaultHeloName(), listener, InstantSource.system(), new Backpressure(), quota);
    }

    /**
     * An engine on {@code group} (a NIO group, e.g. {@code MultiThreadIoEventLoopGroup(NioIoHandler.newFactory())}),
     * which {@link #close} leaves running; null for an own group.
     */
    public NettyDeliveryEngine(UpstreamTarget target, EventLoopGroup group) {
        this(target, group, defaultHeloName());
    }

    /**
     * As {@link #NettyDeliveryEngine(UpstreamTarget, EventLoopGroup)}, greeting with {@code heloName} in EHLO; null
     * for the address literal of the local end of each connection.
     *
     * @throws IllegalArgumentException if the target's trust bundle cannot be loaded
     */
    public NettyDeliveryEngine(UpstreamTarget target, EventLoopGroup group, String heloName) {
        this(target, group, heloName, DeliveryListener.NONE);
    }

    /** As above, reporting connection, rate-limit and throttling events to {@code listener}. */
    public NettyDeliveryEngine(UpstreamTarget target, EventLoopGroup group, String heloName,
                               DeliveryListener listener) {
        this(target, group, heloName, listener, InstantSource.system(), new Backpressure());
    }

    /** For tests: the clock of the OAuth2 token cache and the back-pressure timings. */
    NettyDeliveryEngine(UpstreamTarget target, EventLoopGroup group, String heloName, DeliveryListener listener,
                        InstantSource clock, Backpressure backpressure) {
        this(target, group, heloName, listener, clock, backpressure, null);
    }

    /** For tests: as above, the rate limit shared through {@code quota} (null: a local one). */
    NettyDeliveryEngine(UpstreamTarget target, EventLoopGroup group, String heloName, DeliveryListener listener,
                        InstantSource clock, Backpressure backpressure, SharedQuota quota) {
        this.target = Objects.requireNonNull(target, "target");
        this.ownGroup = group == null;
        this.group = ownGroup ? new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory()) : group;
        ClientTlsContexts.Lazy tls = target.tls() == TlsMode.NONE ? null : tlsContext(target);
        OAuth2TokenSource tokens = target.auth() == UpstreamAuth.XOAUTH2
                ? new OAuth2TokenSource(target.name(), target.oauth2(), clock, target.timeouts().command()) : null;
        this.settings = new ConnectionSettings(target, heloName, tls, tokens);
        this.pool = new ConnectionPool(settings, this.group.next(), listener == null ? DeliveryListener.NONE
                : listener, System::nanoTime, backpressure, quota);
    }

    private static ClientTlsContexts.Lazy tlsContext(UpstreamTarget target) {
        try {
            return ClientTlsContexts.create(target.trust());
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("upstream " + target.name() + ": cannot load the TLS trust"
                    + (target.trust() == null ? "" : " bundle " + target.trust()) + ": " + e.getMessage(), e);
        }
    }

    /** This host's name if it is fully qualified, else null (then the address literal is used). */
    static String defaultHeloName() {
        try {
            String name = InetAddress.getLocalHost().getCanonicalHostName();
            return name.indexOf('.') > 0 && !name.endsWith(".") && !Character.isDigit(name.charAt(name.length() - 1))
                    ? name : null;
        } catch (UnknownHostException | RuntimeException e) {
            return null;
        }
    }

    @Override
    public CompletableFuture<DeliveryReport> deliver(Envelope envelope, Body body) {
        CompletableFuture<DeliveryReport> result = new CompletableFuture<>();
        try {
            if (closed) { // replaced by a reload, or stopping: no attempt was made
                return CompletableFuture.completedFuture(DeliveryReport.notAttempted(target.name(),
                        envelope.recipients(), "delivery engine for " + target.name() + " is closed",
                        java.time.Duration.ZERO));
            }
            if (target.port() == 25) { // UpstreamTarget refuses it already; never send there all the same
                LOG.warn("{}: refusing to deliver to port 25 of {}", envelope.id(), target.host());
                return done(envelope, "refusing to connect to port 25 of " + target.host()
                        + ": configuration error, use the submission port (587, 465 or 2525)");
            }
            CompletableFuture.supplyAsync(() -> {
                try {
                    return BodyScan.of(body);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, BLOCKING).whenComplete((scan, error) -> {
                if (error != null) {
                    Throwable cause = error;
                    while (cause.getCause() != null && !(cause instanceof IOException)) {
                        cause = cause.getCause();
                    }
                    String detail = "cannot read the message content " + body + ": " + cause;
                    LOG.warn("{}: {}", envelope.id(), detail);
                    result.complete(report(envelope, detail));
                } else {
                    pool.submit(new DeliveryJob(envelope, body, scan, result));
                }
            });
        } catch (RuntimeException | Error e) {
            LOG.warn("{}: delivery could not start", envelope.id(), e);
            result.complete(report(envelope, "delivery could not start: " + e));
        }
        return result;
    }

    /** The pool's counters and gauges now. */
    public UpstreamStats stats() {
        return pool.stats();
    }

    /** Requests made to the OAuth2 token endpoint (0 without XOAUTH2). For tests. */
    long tokenFetches() {
        return settings.tokens() == null ? 0 : settings.tokens().fetches();
    }

    private CompletableFuture<DeliveryReport> done(Envelope envelope, String detail) {
        return CompletableFuture.completedFuture(report(envelope, detail));
    }

    private DeliveryReport report(Envelope envelope, String detail) {
        return DeliveryReport.all(target.name(), envelope.recipients(), new TransientFailure(detail));
    }

    /**
     * Defers the waiting messages, closes the connections (messages in flight are deferred) and, if it is our own,
     * the group.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        pool.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        if (ownGroup) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        }
    }

    @Override
    public String toString() {
        return "NettyDeliveryEngine[" + target + "]";
    }
}
