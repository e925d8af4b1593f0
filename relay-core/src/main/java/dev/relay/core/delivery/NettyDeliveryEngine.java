package dev.relay.core.delivery;

import dev.relay.config.TlsMode;
import dev.relay.core.delivery.Outcome.TransientFailure;
import dev.relay.core.model.Envelope;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.smtp.SmtpRequestEncoder;
import io.netty.handler.codec.smtp.SmtpResponseDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers messages to one upstream smarthost over Netty: one connection per message (lockstep SMTP, STARTTLS or
 * implicit TLS, AUTH PLAIN or LOGIN), every step timed. See {@link SmtpClientHandler} for the conversation.
 *
 * <p>{@link #deliver} never blocks and its future never completes exceptionally. The engine is thread-safe.
 */
public final class NettyDeliveryEngine implements DeliveryEngine {
    private static final Logger LOG = LoggerFactory.getLogger(NettyDeliveryEngine.class);
    /** RFC 5321 allows 512 octets per reply line; some servers send longer EHLO lines. */
    static final int MAX_REPLY_LINE = 8192;
    static final String DECODER = "smtp-decoder";
    private static final Executor BLOCKING = r -> Thread.ofVirtual().name("relay-delivery-io").start(r);

    private final UpstreamTarget target;
    private final EventLoopGroup group;
    private final boolean ownGroup;
    private final String heloName;
    private final SslContext tls;
    private final ChannelGroup channels = new DefaultChannelGroup("delivery", GlobalEventExecutor.INSTANCE);
    private volatile boolean closed;

    /** An engine with its own small event loop group, shut down by {@link #close}. */
    public NettyDeliveryEngine(UpstreamTarget target) {
        this(target, null, defaultHeloName());
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
        this.target = Objects.requireNonNull(target, "target");
        this.ownGroup = group == null;
        this.group = ownGroup ? new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory()) : group;
        this.heloName = heloName;
        this.tls = target.tls() == TlsMode.NONE ? null : tlsContext(target);
    }

    private static SslContext tlsContext(UpstreamTarget target) {
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
    public CompletableFuture<DeliveryReport> deliver(Envelope envelope, Path body) {
        CompletableFuture<DeliveryReport> result = new CompletableFuture<>();
        try {
            if (closed) {
                return done(envelope, "delivery engine for " + target.name() + " is closed");
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
                    connect(new DeliveryJob(target, envelope, body, scan, heloName, tls, result));
                }
            });
        } catch (RuntimeException | Error e) {
            LOG.warn("{}: delivery could not start", envelope.id(), e);
            result.complete(report(envelope, "delivery could not start: " + e));
        }
        return result;
    }

    private void connect(DeliveryJob job) {
        try {
            Bootstrap bootstrap = new Bootstrap()
                    .group(group)
                    .channel(NioSocketChannel.class)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                            (int) Math.min(Integer.MAX_VALUE, target.timeouts().connect().toMillis()))
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ChannelPipeline p = ch.pipeline();
                            if (target.tls() == TlsMode.IMPLICIT) {
                                p.addLast("tls", ClientTlsContexts.newHandler(tls, ch.alloc(), target.host(),
                                        target.port()));
                            }
                            p.addLast(DECODER, new SmtpResponseDecoder(MAX_REPLY_LINE));
                            p.addLast("smtp-encoder", new SmtpRequestEncoder());
                            p.addLast("chunked", new ChunkedWriteHandler());
                            p.addLast("smtp-client", new SmtpClientHandler(job));
                        }
                    });
            ChannelFuture connect = bootstrap.connect(target.host(), target.port());
            Channel channel = connect.channel();
            channels.add(channel);
            connect.addListener(f -> {
                if (!f.isSuccess()) {
                    String detail = f.cause() instanceof ConnectTimeoutException
                            ? "timeout connecting to " + job.hostPort()
                            : "cannot connect to " + job.hostPort() + ": " + SmtpClientHandler.describe(f.cause());
                    job.result().complete(report(job.envelope(), detail));
                    LOG.info("{}: to={} via {} ({}) deferred: {}", job.envelope().id(), job.envelope().recipients(),
                            target.name(), job.hostPort(), detail);
                }
            });
        } catch (RuntimeException e) {
            LOG.warn("{}: cannot start a connection to {}", job.envelope().id(), job.hostPort(), e);
            job.result().complete(report(job.envelope(), "cannot start a connection to " + job.hostPort() + ": " + e));
        }
    }

    private CompletableFuture<DeliveryReport> done(Envelope envelope, String detail) {
        return CompletableFuture.completedFuture(report(envelope, detail));
    }

    private DeliveryReport report(Envelope envelope, String detail) {
        return DeliveryReport.all(target.name(), envelope.recipients(), new TransientFailure(detail));
    }

    /** Closes the connections in progress (their recipients are deferred) and, if it is our own, the group. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        if (ownGroup) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        }
    }

    @Override
    public String toString() {
        return "NettyDeliveryEngine[" + target + "]";
    }
}
