package dev.relay.server.receive;

import dev.relay.server.receive.tls.SessionThreads;
import dev.relay.server.receive.tls.ListeningSocket;
import dev.relay.config.ListenerConfig;
import dev.relay.config.TlsMode;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.smtp.server.SSLSocketCreator;

/**
 * One SMTP listener (subethasmtp, one thread per session: {@link SessionThreads}, with the relay's own commands from
 * {@link SmtpCommands}): STARTTLS or implicit TLS, AUTH PLAIN and LOGIN offered only once TLS is up, MAIL refused
 * before AUTH unless the client is in a trusted network, and the limits of {@code limits}.
 */
public final class InboundListener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(InboundListener.class);

    /** What the server's own stop gets after the grace: it only closes sockets and ends their threads. */
    private static final Duration STOP_AT_LEAST = Duration.ofMillis(500);
    /** subethasmtp's read timeout is the idle timeout plus this: the relay's own idle sweeper acts first. */
    private static final Duration IDLE_BACKSTOP = Duration.ofSeconds(30);

    private final ListenerConfig config;
    private final SMTPServer server;
    private final SessionLimits sessions;
    /**
     * Sessions open at once that get a platform thread each, the rest virtual threads: one per core. On this
     * 2-core machine 16 made 32 connections 5% slower with a worse p99 (platform session threads took the cores
     * from the virtual threads' carriers); 2 measured like all-virtual there.
     */
    static final int PLATFORM_SESSIONS = Math.max(1, Runtime.getRuntime().availableProcessors());

    private final ExecutorService executor;
    private volatile ListeningSocket listening;
    private volatile boolean draining;

    public InboundListener(ListenerConfig config, Inbound inbound) throws UnknownHostException {
        this.config = config;
        this.executor = new SessionThreads(config.name(), PLATFORM_SESSIONS);
        this.sessions = new SessionLimits(config.name(), inbound.limits().maxConnections(),
                () -> inbound.limits().maxConnectionsPerClient(), () -> inbound.limits().idleTimeout(),
                () -> inbound.limits().dataTimeout(), inbound.refusals(), System::nanoTime);
        SMTPServer.Builder b = SMTPServer.port(config.bind().port())
                .bindAddress(InetAddress.getByName(config.bind().host()))
                .hostName(inbound.hostname())
                .softwareName("relay")
                .executorService(executor)
                // SessionLimits refuses first, with an enhanced code; beyond this subethasmtp stops accepting
                .maxConnections(inbound.limits().maxConnections() + 5)
                .sessionHandler(sessions)
                .insertReceivedHeaders(false) // DATA is ours: it adds its own, with the TLS details
                // a backstop only: SessionLimits closes idle sessions first, with 421 4.4.2 (subethasmtp's own
                // reply has no enhanced code), and bounds TLS handshakes; this read timeout still ends a stalled
                // AUTH exchange
                .connectionTimeout((int) Math.min(Integer.MAX_VALUE,
                        inbound.limits().idleTimeout().toMillis() + IDLE_BACKSTOP.toMillis()), TimeUnit.MILLISECONDS)
                .messageHandlerFactory(ctx -> new SubmissionHandler(ctx, inbound, config.name()));
        SSLSocketCreator implicit = null;
        switch (config.tls()) {
            case STARTTLS -> b.startTlsSocketFactory(inbound.tls().startTls());
            case IMPLICIT -> implicit = inbound.tls().startTls(); // TLS from the first byte (RFC 8314)
            case NONE -> { } // loopback only (validated): the sidecar case
        }
        SSLSocketCreator tlsLayer = implicit;
        b.serverSocketFactory(() -> listening = new ListeningSocket(tlsLayer, System::nanoTime));
        this.server = b.build();
        new SmtpCommands(config, inbound, sessions).install(server.getCommandHandler());
    }

    /** Starts accepting; a port in use or a missing address is reported with the listener's name and address. */
    public void start() throws java.io.IOException {
        try {
            server.start();
        } catch (RuntimeException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new java.io.IOException("cannot listen on " + config.bind() + " (listener " + config.name()
                    + "): " + cause.getMessage(), cause);
        }
        sessions.startSweeper();
        log.info("listening on {} ({}, tls={})", config.bind(), config.name(), config.tls().key());
    }

    public String name() {
        return config.name();
    }

    public TlsMode tls() {
        return config.tls();
    }

    /** True while the listener accepts connections: false once a stop has begun. */
    public boolean isRunning() {
        return server.isRunning() && !draining;
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        return server.getPortAllocated();
    }

    /** Sessions open now. */
    public int openSessions() {
        return sessions.open();
    }

    /** Connections admitted and TLS handshakes, for the metrics. */
    public ListenerStats stats() {
        return sessions.stats();
    }

    /** Data deadlines the listener holds now: one per session in the middle of its message data at most. */
    public int dataDeadlinesPending() {
        return sessions.dataDeadlinesPending();
    }

    /**
     * The first step of a graceful stop: closes the listening socket, so that connection attempts are refused
     * (and a load balancer moves clients elsewhere), and closes idle sessions with {@code 421 4.3.2}. Sessions in a
     * mail transaction go on until it ends; they are closed then. Returns at once.
     */
    public void stopAccepting() {
        if (draining) {
            return;
        }
        draining = true;
        sessions.drain();
        ListeningSocket socket = listening;
        if (socket != null) {
            try {
                socket.stopAccepting();
            } catch (java.io.IOException e) {
                log.warn("closing the listening socket of {} failed: {}", config.name(), e.toString());
            }
        }
        log.info("{}: stopped accepting; {} sessions finishing", config.name(), sessions.open());
    }

    /**
     * Graceful stop: {@link #stopAccepting}, then waits up to {@code grace} for the sessions in a transaction to
     * finish it, then closes whatever is still open (a message whose data has not ended is not queued; the
     * client retries) and stops the server.
     */
    public void stop(Duration grace) {
        long deadline = System.nanoTime() + grace.toNanos();
        stopAccepting();
        try {
            if (!sessions.awaitEnd(grace)) {
                log.info("{}: {} sessions still open after the grace period: closing them", config.name(),
                        sessions.open());
                sessions.endInput(); // their data ends as if the client had gone: nothing queued, logged at INFO
                sessions.awaitEnd(STOP_AT_LEAST);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // closes the remaining sessions and waits for their threads (without a limit: bounded here)
        Thread stopper = Thread.ofVirtual().start(server::stop);
        try {
            stopper.join(Duration.ofNanos(Math.max(deadline - System.nanoTime(), STOP_AT_LEAST.toNanos())));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sessions.stopSweeper();
        executor.shutdownNow();
    }

    @Override
    public void close() {
        stop(Duration.ofSeconds(10));
    }
}
