package dev.relay.server.receive;

import dev.relay.server.receive.tls.BatchingTlsSocket;
import dev.relay.core.auth.ClientAddress;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.server.Session;
import org.subethamail.smtp.server.SessionHandler;

/**
 * Admits sessions up to the total and per-client limits ({@code 421 4.7.0} beyond, before the greeting; an IPv6
 * client is counted per /64, as the AUTH throttle counts it: {@link ClientAddress}), and keeps each session's own
 * state for the commands. One sweeper thread per listener enforces every session deadline by looking at the
 * sessions' state, so a deadline allocates nothing and nothing outlives its session:
 * <ul>
 * <li>{@code limits.idle-timeout}: a session that has not started a command for that long is closed with
 * {@code 421 4.4.2} (subethasmtp's own read timeout, whose reply has no enhanced code, is set later as a backstop
 * only);</li>
 * <li>{@code limits.data-timeout}: a message whose data has not ended that long after its 354 is not queued, and
 * the session is closed with {@code 421 4.4.2};</li>
 * <li>the TLS handshake (after STARTTLS, or the first bytes of an implicit-TLS connection) must end within
 * {@link #handshakeTimeout}: a client that trickles it is disconnected (no SMTP reply can be sent in the middle of
 * a handshake).</li>
 * </ul>
 * For a graceful stop it also knows which sessions are idle (between commands and outside a mail transaction):
 * {@link #drain} closes those with {@code 421 4.3.2} and every other one as soon as its transaction ends, so that
 * sessions in the middle of a message can finish it. The sweeper never writes to a socket: every reply and close
 * is done by a thread of its own ({@link #replyAndClose}), which closes the connection's plain socket after
 * {@link #REPLY_WAIT} if the reply cannot be written (a client that does not read).
 */
final class SessionLimits implements SessionHandler {
    private static final Logger log = LoggerFactory.getLogger(SessionLimits.class);

    /** Per-session state the commands need beyond subethasmtp's. */
    static final class State {
        int messages;
        int commandsBeforeMail;
        /** A command is running (guarded by the state's monitor). */
        private boolean busy;
        /** Closed by the drain or the idle timeout: commands that still arrive are not run (state's monitor). */
        private boolean closed;
        /** When the session last began or ended a command (or was accepted), System.nanoTime(). */
        private volatile long lastActive = System.nanoTime();
        /** The message data being read, or null; since when (System.nanoTime(), written before data). */
        private volatile DataStream data;
        private volatile long dataSince;
        /** A TLS handshake is running; since when (System.nanoTime(), written before handshaking). */
        private volatile boolean handshaking;
        private volatile long handshakeSince;
        /** The connection's plain TCP socket, closed directly when a reply cannot be written (set at accept). */
        private Socket raw;
    }

    /** The longest a TLS handshake may take, whatever the idle timeout. */
    static final Duration MAX_HANDSHAKE = Duration.ofSeconds(30);

    private final String listener;
    private final int maxTotal;
    private final IntSupplier maxPerClient; // the limit now in force: reloads change it
    private final Map<Session, State> states = new ConcurrentHashMap<>();
    private final Map<String, Integer> perClient = new HashMap<>(); // by ClientAddress.key
    private int total;
    private volatile boolean draining;

    private final Refusal.Listener refusals;
    private final Supplier<Duration> idleTimeout;
    private final Supplier<Duration> dataTimeout; // the limit now in force: reloads change it
    private Thread sweeper;

    SessionLimits(String listener, int maxTotal, IntSupplier maxPerClient, Supplier<Duration> idleTimeout,
                  Supplier<Duration> dataTimeout, Refusal.Listener refusals) {
        this.listener = listener;
        this.refusals = refusals;
        this.maxTotal = maxTotal;
        this.maxPerClient = maxPerClient;
        this.idleTimeout = idleTimeout;
        this.dataTimeout = dataTimeout;
    }

    /** Starts the sweeper of the idle, data and handshake deadlines. */
    synchronized void startSweeper() {
        if (sweeper == null) {
            sweeper = Thread.ofVirtual().name("relay-deadlines-" + listener).start(this::sweep);
        }
    }

    synchronized void stopSweeper() {
        if (sweeper != null) {
            sweeper.interrupt();
        }
    }

    /** How long a TLS handshake may take: the idle timeout, at most {@link #MAX_HANDSHAKE}. */
    Duration handshakeTimeout() {
        Duration idle = idleTimeout.get();
        return idle.compareTo(MAX_HANDSHAKE) < 0 ? idle : MAX_HANDSHAKE;
    }

    private void sweep() {
        while (true) {
            long idle = idleTimeout.get().toNanos();
            long data = dataTimeout.get().toNanos();
            long handshake = handshakeTimeout().toNanos();
            long shortest = Math.min(idle, Math.min(data, handshake));
            try { // a deadline is enforced at most a quarter of the shortest timeout (and at most a second) late
                Thread.sleep(Duration.ofNanos(Math.max(50_000_000L, Math.min(1_000_000_000L, shortest / 4))));
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (Map.Entry<Session, State> e : states.entrySet()) {
                State s = e.getValue();
                DataStream d = s.data;
                if (d != null && now - s.dataSince > data) {
                    closeDataTooLong(e.getKey(), s, d);
                } else if (s.handshaking && now - s.handshakeSince > handshake) {
                    cutHandshake(e.getKey(), s);
                } else if (now - s.lastActive > idle) {
                    closeIdleTooLong(e.getKey(), s);
                }
            }
        }
    }

    /** The message data of {@code session} begins now (after its 354): its deadline runs from now. */
    void dataStarted(Session session, DataStream data) {
        State s = states.get(session);
        if (s != null) {
            s.dataSince = System.nanoTime();
            s.data = data;
        }
    }

    /** The message data of {@code session} has ended (or failed): no deadline any more. */
    void dataEnded(Session session) {
        State s = states.get(session);
        if (s != null) {
            s.data = null;
        }
    }

    /** Data deadlines running now: sessions in the middle of their message data. */
    int dataDeadlinesPending() {
        int n = 0;
        for (State s : states.values()) {
            if (s.data != null) {
                n++;
            }
        }
        return n;
    }

    /** A TLS handshake of {@code session} begins now; it must end within {@link #handshakeTimeout}. */
    void handshakeStarted(Session session) {
        State s = states.get(session);
        if (s != null) {
            s.handshakeSince = System.nanoTime();
            s.handshaking = true;
        }
    }

    void handshakeEnded(Session session) {
        State s = states.get(session);
        if (s != null) {
            s.handshaking = false;
        }
    }

    /**
     * The data deadline: unless the final dot has come ({@link DataStream#expire}), the message is not queued, the
     * client gets {@code 421 4.4.2} and the connection is closed, which ends the session thread's read.
     */
    private void closeDataTooLong(Session session, State s, DataStream data) {
        if (!data.expire()) {
            return; // the end of the data came first, or this deadline has been enforced already
        }
        synchronized (s) {
            s.closed = true;
        }
        log.info("session from {} on {} closed: the message data took longer than {}",
                session.getRemoteAddress().getAddress(), listener, dataTimeout.get());
        refusals.refused(Refusal.DATA_TIMEOUT);
        replyAndClose(session, s, SmtpReplies.DATA_TIMEOUT);
    }

    /**
     * The handshake deadline: the connection is closed (in the middle of a TLS handshake no SMTP reply can be
     * sent), from a thread of its own, which ends the session thread's handshake with an error.
     */
    private void cutHandshake(Session session, State s) {
        synchronized (s) {
            if (!s.handshaking || s.closed) {
                return;
            }
            s.handshaking = false;
            s.closed = true;
        }
        log.info("session from {} on {} closed: the TLS handshake took longer than {}",
                session.getRemoteAddress().getAddress(), listener, handshakeTimeout());
        Thread.ofVirtual().name("relay-session-close").start(() -> closeRaw(s));
    }

    private static void closeRaw(State s) {
        try {
            s.raw.close();
        } catch (IOException | RuntimeException e) {
            log.debug("closing a connection: {}", e.toString());
        }
    }

    /**
     * Closes a session that has been idle past the timeout, in or out of a transaction, unless a command is
     * running (the data has its own timeout).
     */
    private void closeIdleTooLong(Session session, State s) {
        if (!markClosed(session, s, true)) {
            return;
        }
        refusals.refused(Refusal.IDLE_TIMEOUT);
        log.info("session from {} on {} closed: no command for {}", session.getRemoteAddress().getAddress(),
                listener, idleTimeout.get());
        replyAndClose(session, s, SmtpReplies.IDLE_TIMEOUT);
    }

    /**
     * Marks {@code session} closed unless a command is running, it is closed already, or (unless
     * {@code inTransactionToo}) a mail transaction is open; true if this call closed it. The transaction state is
     * read under the state's monitor after the session thread left it, so it is current.
     */
    private static boolean markClosed(Session session, State s, boolean inTransactionToo) {
        synchronized (s) {
            if (s.busy || s.closed || (!inTransactionToo && session.isMailTransactionInProgress())) {
                return false;
            }
            s.closed = true;
            return true;
        }
    }

    /**
     * Sends {@code reply} and closes the session, from a thread of its own: the caller (the sweeper, a stop) never
     * blocks on a client that does not read. If the reply is not written within {@link #REPLY_WAIT} (the client
     * does not read, or the session thread is itself stuck writing to it and holds the TLS write lock), the plain
     * TCP socket under the session's (TLS) socket is closed: that never waits for a TLS lock, and it ends every
     * read and write of the connection.
     */
    private static void replyAndClose(Session session, State s, SmtpReplies reply) {
        Thread.ofVirtual().name("relay-session-close").start(() -> {
            Thread cut = Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(REPLY_WAIT);
                } catch (InterruptedException e) {
                    return; // the reply went out and quit() closed the socket
                }
                closeRaw(s);
            });
            try {
                session.sendResponse(reply.line());
            } catch (IOException | RuntimeException e) {
                log.debug("cannot send the closing reply: {}", e.toString());
            }
            session.quit(); // closes the socket: the session thread's read ends, quietly
            cut.interrupt();
        });
    }

    /** How long a closing reply may take to write before the socket is closed anyway. */
    private static final Duration REPLY_WAIT = Duration.ofSeconds(5);

    @Override
    public SessionAcceptance accept(Session session) {
        SessionAcceptance admitted = admit(session);
        if (admitted.accepted() && session.getSocket() instanceof SSLSocket tls) {
            handshake(session, tls); // implicit TLS: before the greeting, within the handshake deadline
        }
        return admitted;
    }

    private synchronized SessionAcceptance admit(Session session) {
        InetAddress client = session.getRealRemoteAddress().getAddress();
        SmtpReplies refused = admit(client);
        if (refused != null) {
            return reject(refused);
        }
        noDelay(session);
        State s = new State();
        s.raw = session.getSocket() instanceof BatchingTlsSocket tls ? tls.raw() : session.getSocket();
        states.put(session, s);
        return SessionAcceptance.success();
    }

    /**
     * Counts a connection from {@code client} against the limits; the refusal, or null if admitted (and counted).
     * IPv6 clients are counted per /64: one host usually has a whole /64.
     */
    synchronized SmtpReplies admit(InetAddress client) {
        if (draining) {
            log.info("connection from {} on {} refused: shutting down", client, listener);
            return SmtpReplies.SHUTTING_DOWN;
        }
        if (total >= maxTotal) {
            log.info("connection from {} on {} refused: {} connections already", client, listener, total);
            refusals.refused(Refusal.TOO_MANY_CONNECTIONS);
            return SmtpReplies.TOO_MANY_CONNECTIONS;
        }
        String key = ClientAddress.key(client);
        int mine = perClient.getOrDefault(key, 0);
        if (mine >= maxPerClient.getAsInt()) {
            log.info("connection from {} on {} refused: {} connections from {} already", client, listener, mine,
                    client instanceof java.net.Inet6Address ? "its /64" : "that address");
            refusals.refused(Refusal.TOO_MANY_CONNECTIONS_FROM_CLIENT);
            return SmtpReplies.TOO_MANY_CONNECTIONS_FROM_CLIENT;
        }
        perClient.put(key, mine + 1);
        total++;
        return null;
    }

    /** A connection from {@code client} counted by {@link #admit(InetAddress)} has ended. */
    synchronized void release(InetAddress client) {
        total--;
        perClient.computeIfPresent(ClientAddress.key(client), (a, n) -> n <= 1 ? null : n - 1);
        notifyAll(); // awaitEnd
    }

    /**
     * The TLS handshake of an implicit-TLS connection, bounded by the sweeper; on failure the session is closed
     * (it then ends without a greeting).
     */
    private void handshake(Session session, SSLSocket tls) {
        handshakeStarted(session);
        try {
            tls.startHandshake();
        } catch (IOException e) {
            log.info("TLS handshake from {} on {} failed: {}", session.getRemoteAddress().getAddress(), listener,
                    e.getMessage());
            session.quit();
        } finally {
            handshakeEnded(session);
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
        release(session.getRealRemoteAddress().getAddress());
    }

    /**
     * A command of {@code session} starts; false if the drain has closed the session, and the command must not run.
     */
    boolean enter(Session session) {
        State s = states.get(session);
        if (s == null) {
            return true;
        }
        synchronized (s) {
            if (s.closed) {
                return false;
            }
            s.busy = true;
            s.lastActive = System.nanoTime();
            return true;
        }
    }

    /** A command of {@code session} has ended; while draining, the session is closed unless in a transaction. */
    void leave(Session session) {
        State s = states.get(session);
        if (s == null) {
            return;
        }
        synchronized (s) {
            s.busy = false;
            s.lastActive = System.nanoTime();
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
        List<Map.Entry<Session, State>> open;
        synchronized (this) { // with accept(): a session is either in this list or refused
            draining = true;
            open = List.copyOf(states.entrySet());
        }
        for (Map.Entry<Session, State> e : open) {
            closeIfIdle(e.getKey(), e.getValue());
        }
    }

    /** Closes {@code session} with {@code 421 4.3.2} unless a command is running or a transaction is open. */
    private void closeIfIdle(Session session, State s) {
        if (!markClosed(session, s, false)) {
            return;
        }
        log.debug("session from {} on {} closed: shutting down", session.getRemoteAddress().getAddress(), listener);
        replyAndClose(session, s, SmtpReplies.SHUTTING_DOWN);
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
    synchronized boolean awaitEnd(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (total > 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    State state(Session session) {
        State s = states.get(session);
        return s == null ? new State() : s;
    }

    synchronized int open() {
        return total;
    }

    private static SessionAcceptance reject(SmtpReplies reply) {
        return SessionAcceptance.failure(reply.code(), reply.text());
    }
}
