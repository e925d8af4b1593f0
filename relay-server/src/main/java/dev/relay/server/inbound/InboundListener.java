package dev.relay.server.inbound;

import dev.relay.config.ListenerConfig;
import dev.relay.config.TlsMode;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.server.SMTPServer;

/**
 * One SMTP listener (subethasmtp, one virtual thread per session, with the relay's own commands from
 * {@link SmtpCommands}): STARTTLS or implicit TLS, AUTH PLAIN and LOGIN offered only once TLS is up, MAIL refused
 * before AUTH unless the client is in a trusted network, and the limits of {@code limits}.
 */
public final class InboundListener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(InboundListener.class);

    private final ListenerConfig config;
    private final SMTPServer server;
    private final SessionLimits sessions;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();

    public InboundListener(ListenerConfig config, Inbound inbound) throws UnknownHostException {
        this.config = config;
        this.sessions = new SessionLimits(config.name(), inbound.limits().maxConnections(),
                inbound.limits().maxConnectionsPerClient(), inbound.refusals());
        SMTPServer.Builder b = SMTPServer.port(config.bind().port())
                .bindAddress(InetAddress.getByName(config.bind().host()))
                .hostName(inbound.hostname())
                .softwareName("relay")
                .executorService(executor)
                // SessionLimits refuses first, with an enhanced code; beyond this subethasmtp stops accepting
                .maxConnections(inbound.limits().maxConnections() + 5)
                .sessionHandler(sessions)
                .insertReceivedHeaders(false) // DATA is ours: it adds its own, with the TLS details
                .connectionTimeout((int) inbound.limits().idleTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .messageHandlerFactory(ctx -> new SubmissionHandler(ctx, inbound, config.name()));
        switch (config.tls()) {
            case STARTTLS -> b.startTlsSocketFactory(inbound.tls().startTls());
            case IMPLICIT -> b.serverSocketFactory(inbound.tls().implicitTls());
            case NONE -> { } // loopback only (validated): the sidecar case
        }
        this.server = b.build();
        new SmtpCommands(config.name(), config.tls(), inbound, sessions).install(server.getCommandHandler());
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
        log.info("listening on {} ({}, tls={})", config.bind(), config.name(), config.tls().key());
    }

    public String name() {
        return config.name();
    }

    public TlsMode tls() {
        return config.tls();
    }

    public boolean isRunning() {
        return server.isRunning();
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        return server.getPortAllocated();
    }

    /** Sessions open now. */
    public int openSessions() {
        return sessions.open();
    }

    /** Stops accepting and waits up to {@code grace} for sessions to end. */
    public void stop(Duration grace) {
        Thread stopper = Thread.ofVirtual().start(server::stop);
        try {
            stopper.join(grace);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        executor.shutdownNow();
    }

    @Override
    public void close() {
        stop(Duration.ofSeconds(10));
    }
}
