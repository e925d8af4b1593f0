package dev.relay.server.inbound;

import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.server.Session;
import org.subethamail.smtp.server.SessionHandler;

/**
 * Admits sessions up to the total and per-client-address limits ({@code 421 4.7.0} beyond, before the greeting),
 * and keeps each session's own state for the commands. It also enforces {@code limits.idle-timeout}: a sweeper
 * closes a session that has not started a command for that long with {@code 421 4.4.2} (subethasmtp's own read
 * timeout, whose reply has no enhanced code, is set later as a backstop only). For a graceful stop it also knows
 * which sessions are idle (between commands and outside a mail transaction): {@link #drain} closes those with
 * {@code 421 4.3.2} and every other one as soon as its transaction ends, so that sessions in the middle of a
 * message can finish it. Either way the reply is written by a thread of its own ({@link #replyAndClose}).
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
    }

    private final String listener;
    private final int maxTotal;
    private final IntSupplier maxPerClient; // the limit now in force: reloads change it
    private final Map<Session, State> states = new ConcurrentHashMap<>();
    private final Map<InetAddress, Integer> perClient = new HashMap<>();
    private int total;
    private volatile boolean draining;

    private final Refusal.Listener refusals;
    private final Supplier<Duration> idleTimeout;
    private Thread sweeper;

    SessionLimits(String listener, int maxTotal, IntSupplier maxPerClient, Supplier<Duration> idleTimeout,
                  Refusal.Listener refusals) {
        this.listener = listener;
        this.refusals = refusals;
        this.maxTotal = maxTotal;
        this.maxPerClient = maxPerClient;
        this.idleTimeout = idleTimeout;
    }

    /** Starts the idle sweeper: a session idle longer than the idle timeout is closed with 421 4.4.2. */
    synchronized void startIdleSweeper() {
        if (sweeper == null) {
            sweeper = Thread.ofVirtual().name("relay-idle-" + listener).start(this::sweep);
        }
    }

    synchronized void stopIdleSweeper() {
        if (sweeper != null) {
            sweeper.interrupt();
        }
    }

    private void sweep() {
        while (true) {
            long idle = idleTimeout.get().toNanos();
            try { // a session is closed at most a quarter of the timeout (and at most a second) late
                Thread.sleep(Duration.ofNanos(Math.max(50_000_000L, Math.min(1_000_000_000L, idle / 4))));
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (Map.Entry<Session, State> e : states.entrySet()) {
                if (now - e.getValue().lastActive > idle) {
                    closeIdleTooLong(e.getKey(), e.getValue());
                }
            }
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
        replyAndClose(session, SmtpReplies.IDLE_TIMEOUT);
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
     * Sends {@code reply} and closes the session, from a thread of its own: the session thread is reading, not
     * writing, and the caller (the sweeper, a stop) never blocks on a client that does not read, whose socket is
     * closed after {@link #REPLY_WAIT} even if the write is stuck.
     */
    private static void replyAndClose(Session session, SmtpReplies reply) {
        Thread.ofVirtual().name("relay-session-close").start(() -> {
            Thread cut = Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(REPLY_WAIT);
                    session.getSocket().close();
                } catch (InterruptedException | IOException e) {
                    // the reply went out and quit() closed the socket, or it is closed already
                }
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
    public synchronized SessionAcceptance accept(Session session) {
        InetAddress client = session.getRealRemoteAddress().getAddress();
        if (draining) {
            log.info("connection from {} on {} refused: shutting down", client, listener);
            return reject(SmtpReplies.SHUTTING_DOWN);
        }
        if (total >= maxTotal) {
            log.info("connection from {} on {} refused: {} connections already", client, listener, total);
            refusals.refused(Refusal.TOO_MANY_CONNECTIONS);
            return reject(SmtpReplies.TOO_MANY_CONNECTIONS);
        }
        int mine = perClient.getOrDefault(client, 0);
        if (mine >= maxPerClient.getAsInt()) {
            log.info("connection from {} on {} refused: {} connections from that address already", client,
                    listener, mine);
            refusals.refused(Refusal.TOO_MANY_CONNECTIONS_FROM_CLIENT);
            return reject(SmtpReplies.TOO_MANY_CONNECTIONS_FROM_CLIENT);
        }
        noDelay(session);
        perClient.put(client, mine + 1);
        total++;
        states.put(session, new State());
        return SessionAcceptance.success();
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
        total--;
        perClient.computeIfPresent(session.getRealRemoteAddress().getAddress(), (a, n) -> n <= 1 ? null : n - 1);
        notifyAll(); // awaitEnd
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
        replyAndClose(session, SmtpReplies.SHUTTING_DOWN);
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
