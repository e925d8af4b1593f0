package dev.relay.server.inbound;

import dev.relay.config.ListenerConfig;
import dev.relay.config.TlsMode;
import dev.relay.core.queue.QueueManager;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.auth.EasyAuthenticationHandlerFactory;
import org.subethamail.smtp.auth.LoginFailedException;
import org.subethamail.smtp.server.SMTPServer;

/**
 * One SMTP listener (subethasmtp, one virtual thread per session): STARTTLS or implicit TLS, AUTH PLAIN and
 * LOGIN offered only once TLS is up, MAIL refused before AUTH unless the client is in a trusted network.
 */
public final class InboundListener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(InboundListener.class);
    private static final int MAX_MESSAGE_SIZE = 50 * 1024 * 1024;

    private final ListenerConfig config;
    private final SMTPServer server;
    private final ExecutorService sessions = Executors.newVirtualThreadPerTaskExecutor();

    public InboundListener(ListenerConfig config, String hostname, ServerTls tls, SubmissionPolicy policy,
                           QueueManager queue) throws UnknownHostException {
        this.config = config;
        SMTPServer.Builder b = SMTPServer.port(config.bind().port())
                .bindAddress(InetAddress.getByName(config.bind().host()))
                .hostName(hostname)
                .softwareName("relay")
                .executorService(sessions)
                .maxMessageSize(MAX_MESSAGE_SIZE)
                .maxRecipients(1000)
                .connectionTimeout(5, TimeUnit.MINUTES)
                .messageHandlerFactory(ctx -> new SubmissionHandler(ctx, policy, queue, config.name()));
        if (policy.hasUsers()) {
            b.authenticationHandlerFactory(new EasyAuthenticationHandlerFactory((user, password, ctx) -> {
                if (!policy.authenticate(user, password)) {
                    log.info("AUTH failed on {} from {}", config.name(), ctx.getRemoteAddress());
                    throw new LoginFailedException();
                }
            }));
        }
        switch (config.tls()) {
            case STARTTLS -> b.enableTLS().requireTLS().startTlsSocketFactory(tls.startTls());
            case IMPLICIT -> b.requireTLS().serverSocketFactory(tls.implicitTls());
            case NONE -> { } // loopback only (validated): the sidecar case
        }
        this.server = b.build();
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

    /** Stops accepting and waits up to {@code grace} for sessions to end. */
    public void stop(Duration grace) {
        Thread stopper = Thread.ofVirtual().start(server::stop);
        try {
            stopper.join(grace);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sessions.shutdownNow();
    }

    @Override
    public void close() {
        stop(Duration.ofSeconds(10));
    }
}
