package dev.relay.server.receive;

import dev.relay.server.receive.tls.BatchingTlsSocket;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.server.Session;
import org.subethamail.smtp.server.SessionHandler;

/**
 * Admits sessions up to the total and per-client limits ({@code 421 4.7.0} beyond, before the greeting:
 * {@link ConnectionCount}), keeps each session's own state for the commands ({@link SessionState}), and has
 * {@link SessionDeadlines} enforce the idle, data and TLS handshake deadlines, with times from the injected clock.
 *
 * <p>For a graceful stop it also knows which sessions are idle (between commands and outside a mail transaction):
 * {@link #drain} closes those with {@code 421 4.3.2} and every other one as soon as its transaction ends, so that
 * sessions in the middle of a message can finish it. Neither the sweeper nor a stop writes to a socket: every reply
 * and close is done by a thread of its own ({@link SessionState#replyAndClose}), which closes the connection's plain
 * socket after {@link SessionState#REPLY_WAIT} if the reply cannot be written (a client that does not read).
 */
final class SessionLimits implements SessionHandler {
    private static final Logger log = LoggerFactory.getLogger(SessionLimits.class);

    private final String listener;
    private final Map<Session, SessionState> states = new ConcurrentHashMap<>();
    private final ConnectionCount connections;
    private final SessionDeadlines deadlines;
    private final LongSupplier clock;
    private final ListenerStats stats = new ListenerStats();
    private volatile boolean draining;

    /**
     * @param clock the time in nanoseconds deadlines are measured with ({@code System::nanoTime} in production: it
     *              must be monotonic)
     */
    SessionLimits(String listener, int maxTotal, IntSupplier maxPerClient, Supplier<Duration> idleTimeout,
                  Supplier<Duration> dataTimeout, Refusal.Listener refusals, LongSupplier clock) {
        this.listener = listener;
        this.clock = clock;
        this.connections = new ConnectionCount(listener, maxTotal, maxPerClient, refusals);
        this.deadlines = new SessionDeadlines(listener, states, idleTimeout, dataTimeout, clock, refusals);
    }

    /** Starts the sweeper of the idle, data and handshake deadlines. */
    void startSweeper() {
        deadlines.start();
    }

    void stopSweeper() {
        deadlines.stop();
    }

    /** The deadlines of this listener's sessions. */
    SessionDeadlines deadlines() {
        return deadlines;
    }

    /** The message data of {@code session} begins now (after its 354): its deadline runs from now. */
    void dataStarted(Session session, DataStream data) {
        SessionState s = states.get(session);
        if (s != null) {
            s.dataSince = clock.getAsLong();
            s.data = data;
        }
    }

    /** The message data of {@code session} has ended (or failed): no deadline any more. */
    void dataEnded(Session session) {
        SessionState s = states.get(session);
        if (s != null) {
            s.data = null;
        }
    }

    /** Data deadlines running now: sessions in the middle of their message data. */
    int dataDeadlinesPending() {
        int n = 0;
        for (SessionState s : states.values()) {
            if (s.data != null) {
                n++;
            }
        }
        return n;
    }

    /** A TLS handshake of {@code session} begins now; it must end within the handshake timeout. */
    void handshakeStarted(Session session) {
        SessionState s = states.get(session);
        if (s != null) {
            s.handshakeSince = clock.getAsLong();
            s.handshaking = true;
        }
    }

    /** The handshake of {@code session} ended with {@code protocol}, or failed when null. */
    void handshakeEnded(Session session, String protocol) {
        stats.handshake(protocol);
        SessionState s = states.get(session);
        if (s != null) {
            s.handshaking = false;
        }
    }

    ListenerStats stats() {
        return stats;
    }

    @Override
    public SessionAcceptance accept(Session session) {
        SessionAcceptance admitted = admit(session);
        if (admitted.accepted() && session.getSocket() instanceof SSLSocket tls) {
            handshake(session, tls); // implicit TLS: before the greeting, within the handshake deadline
        }
        return admitted;
    }

    private synchronized SessionAcceptance admit(Session session) {
        SmtpReplies refused = connections.admit(session.getRealRemoteAddress().getAddress());
        if (refused != null) {
            return SessionAcceptance.failure(refused.code(), refused.text());
        }
        noDelay(session);
        Socket raw = session.getSocket() instanceof BatchingTlsSocket tls ? tls.raw() : session.getSocket();
        states.put(session, new SessionState(raw, clock.getAsLong()));
        stats.opened();
        return SessionAcceptance.success();
    }

    /** Counts a connection from {@code client}: {@link ConnectionCount#admit}. */
    SmtpReplies admit(InetAddress client) {
        return connections.admit(client);
    }

    /** A connection from {@code client} counted by {@link #admit(InetAddress)} has ended. */
    void release(InetAddress client) {
        connections.release(client);
    }

    /**
     * The TLS handshake of an implicit-TLS connection, bounded by the sweeper; on failure the session is closed
     * (it then ends without a greeting).
     */
    private void handshake(Session session, SSLSocket tls) {
        handshakeStarted(session);
        String protocol = null;
        try {
            tls.startHandshake();
            protocol = tls.getSession().getProtocol();
        } catch (IOException e) {
            log.info("TLS handshake from {} on {} failed: {}", session.getRemoteAddress().getAddress(), listener,
                    e.getMessage());
            session.quit();
        } finally {
            handshakeEnded(session, protocol);
        }
    }

    /**
     * Replies go out as soon as they are written. With Nagle's algorithm on, the second of two pipelined replies
     * (250 to MAIL, then 250 to RCPT) waits for the ACK of the first, which the client delays by up to 40 ms: that
     * capped one pipelining session at about 20 messages per second.
     */
    private static void noDelay(Session session) {
        try {
            session.getSocket().setTcpNoDelay(true);
        } catch (IOException | RuntimeException e) {
            log.debug("cannot set TCP_NODELAY: {}", e.toString());
        }
    }

    @Override
    public synchronized void onSessionEnd(Session session) {
        if (states.remove(session) == null) {
            return;
        }
        connections.release(session.getRealRemoteAddress().getAddress());
    }

    /**
     * A command of {@code session} starts; false if the drain has closed the session, and the command must not run.
     */
    boolean enter(Session session) {
        SessionState s = states.get(session);
        if (s == null) {
            return true;
        }
        synchronized (s) {
            if (s.closed) {
                return false;
            }
            s.busy = true;
            s.lastActive = clock.getAsLong();
            return true;
        }
    }

    /** A command of {@code session} has ended; while draining, the session is closed unless in a transaction. */
    void leave(Session session) {
        SessionState s = states.get(session);
        if (s == null) {
            return;
        }
        synchronized (s) {
            s.busy = false;
            s.lastActive = clock.getAsLong();
        }
        if (draining) {
            closeIfIdle(session, s);
        }
    }

    /** True once {@link #drain} has begun: no new session, and no new transaction. */
    boolean draining() {
        return draining;
    }

    /**
     * Begins a graceful stop: new sessions are refused, idle sessions are closed now with {@code 421 4.3.2}, and
     * sessions in a command or a mail transaction when their transaction (or command) ends.
     */
    void drain() {
        List<Map.Entry<Session, SessionState>> open;
        synchronized (this) { // with accept(): a session is either in this list or refused
            draining = true;
            connections.refuseAll();
            open = List.copyOf(states.entrySet());
        }
        for (Map.Entry<Session, SessionState> e : open) {
            closeIfIdle(e.getKey(), e.getValue());
        }
    }

    /** Closes {@code session} with {@code 421 4.3.2} unless a command is running or a transaction is open. */
    private void closeIfIdle(Session session, SessionState s) {
        if (!s.markClosed(session, false)) {
            return;
        }
        log.debug("session from {} on {} closed: shutting down", session.getRemoteAddress().getAddress(), listener);
        s.replyAndClose(session, SmtpReplies.SHUTTING_DOWN);
    }

    /**
     * Ends the input of every open session, as if its client had closed the connection: a session in the middle
     * of its data ends it as "closed during the data, nothing queued" rather than failing on a closed socket.
     */
    void endInput() {
        for (Session session : states.keySet()) {
            try {
                session.getSocket().shutdownInput();
            } catch (IOException | RuntimeException e) {
                log.debug("cannot end the input of a session: {}", e.toString());
            }
        }
    }

    /** Waits until every session has ended or {@code timeout} has passed; true if none is left. */
    boolean awaitEnd(Duration timeout) throws InterruptedException {
        return connections.awaitEnd(timeout);
    }

    SessionState state(Session session) {
        SessionState s = states.get(session);
        return s == null ? new SessionState(session.getSocket(), clock.getAsLong()) : s;
    }

    int open() {
        return connections.open();
    }
}
