package dev.relay.server.receive;

import java.time.Duration;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.server.Session;

/**
 * One sweeper thread per listener enforces every session deadline by looking at the sessions' state, so a deadline
 * allocates nothing and nothing outlives its session:
 * <ul>
 * <li>{@code limits.idle-timeout}: a session that has not started a command for that long is closed with
 * {@code 421 4.4.2} (subethasmtp's own read timeout, whose reply has no enhanced code, is set later as a backstop
 * only);</li>
 * <li>{@code limits.data-timeout}: a message whose data has not ended that long after its 354 is not queued, and
 * the session is closed with {@code 421 4.4.2};</li>
 * <li>the TLS handshake (after STARTTLS, or the first bytes of an implicit-TLS connection) must end within
 * {@link #handshakeTimeout}: a client that trickles it is disconnected (no SMTP reply can be sent in the middle of
 * a handshake);</li>
 * <li>{@code limits.idle-timeout} also bounds a write to the client that makes no progress (a client that sends a
 * pipelined burst and never reads the replies): its TCP socket is closed, without a reply (none could be
 * written).</li>
 * </ul>
 * The sweeper never writes to a socket: every reply and close is done by a thread of its own
 * ({@link SessionState#replyAndClose}).
 */
final class SessionDeadlines {
    private static final Logger log = LoggerFactory.getLogger(SessionLimits.class); // its lines keep their name

    /** The longest a TLS handshake may take, whatever the idle timeout. */
    static final Duration MAX_HANDSHAKE = Duration.ofSeconds(30);

    private final String listener;
    private final Map<Session, SessionState> states;
    private final Supplier<Duration> idleTimeout;
    private final Supplier<Duration> dataTimeout; // the limit now in force: reloads change it
    private final LongSupplier clock;
    private final Refusal.Listener refusals;
    private Thread sweeper;

    SessionDeadlines(String listener, Map<Session, SessionState> states, Supplier<Duration> idleTimeout,
                     Supplier<Duration> dataTimeout, LongSupplier clock, Refusal.Listener refusals) {
        this.listener = listener;
        this.states = states;
        this.idleTimeout = idleTimeout;
        this.dataTimeout = dataTimeout;
        this.clock = clock;
        this.refusals = refusals;
    }

    synchronized void start() {
        if (sweeper == null) {
            sweeper = Thread.ofVirtual().name("relay-deadlines-" + listener).start(this::sweep);
        }
    }

    synchronized void stop() {
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
            long shortest = Math.min(idleTimeout.get().toNanos(),
                    Math.min(dataTimeout.get().toNanos(), handshakeTimeout().toNanos()));
            try { // a deadline is enforced at most a quarter of the shortest timeout (and at most a second) late
                Thread.sleep(Duration.ofNanos(Math.max(50_000_000L, Math.min(1_000_000_000L, shortest / 4))));
            } catch (InterruptedException e) {
                return;
            }
            sweepOnce();
        }
    }

    /** Enforces every deadline that has passed by now (the clock's now). */
    void sweepOnce() {
        long now = clock.getAsLong();
        long idle = idleTimeout.get().toNanos();
        long data = dataTimeout.get().toNanos();
        long handshake = handshakeTimeout().toNanos();
        for (Map.Entry<Session, SessionState> e : states.entrySet()) {
            SessionState s = e.getValue();
            DataStream d = s.data;
            switch (s.due(now, idle, data, handshake)) {
                case WRITE -> cutStalledWrite(e.getKey(), s);
                case DATA -> {
                    if (d != null) { // read before due(): the data may have ended since
                        closeDataTooLong(e.getKey(), s, d);
                    }
                }
                case HANDSHAKE -> cutHandshake(e.getKey(), s);
                case IDLE -> closeIdleTooLong(e.getKey(), s);
                case NONE -> { }
            }
        }
    }

    /**
     * The data deadline: unless the final dot has come ({@link DataStream#expire}), the message is not queued, the
     * client gets {@code 421 4.4.2} and the connection is closed, which ends the session thread's read.
     */
    private void closeDataTooLong(Session session, SessionState s, DataStream data) {
        if (!data.expire()) {
            return; // the end of the data came first, or this deadline has been enforced already
        }
        synchronized (s) {
            s.closed = true;
        }
        log.info("session from {} on {} closed: the message data took longer than {}",
                session.getRemoteAddress().getAddress(), listener, dataTimeout.get());
        refusals.refused(Refusal.DATA_TIMEOUT);
        s.replyAndClose(session, SmtpReplies.DATA_TIMEOUT);
    }

    /**
     * The handshake deadline: the connection is closed (in the middle of a TLS handshake no SMTP reply can be
     * sent), from a thread of its own, which ends the session thread's handshake with an error.
     */
    private void cutHandshake(Session session, SessionState s) {
        synchronized (s) {
            if (!s.handshaking || s.closed) {
                return;
            }
            s.handshaking = false;
            s.closed = true;
        }
        log.info("session from {} on {} closed: the TLS handshake took longer than {}",
                session.getRemoteAddress().getAddress(), listener, handshakeTimeout());
        Thread.ofVirtual().name("relay-session-close").start(s::closeRaw);
    }

    /**
     * The write deadline: the session thread has been blocked writing to a client that does not read for the idle
     * timeout. The TCP socket is closed from a thread of its own (closing the plain socket never waits for the
     * TLS write lock the blocked thread holds), which ends the blocked write with an error. Unless another
     * deadline or the drain is closing the session already: that close cuts the socket after a bounded try.
     */
    private void cutStalledWrite(Session session, SessionState s) {
        synchronized (s) {
            if (s.closed) {
                return;
            }
            s.closed = true;
        }
        refusals.refused(Refusal.WRITE_TIMEOUT);
        log.info("session from {} on {} closed: the client read no reply for {}",
                session.getRemoteAddress().getAddress(), listener, idleTimeout.get());
        Thread.ofVirtual().name("relay-session-close").start(s::closeRaw);
    }

    /**
     * Closes a session that has been idle past the timeout, in or out of a transaction, unless a command is
     * running (the data has its own timeout).
     */
    private void closeIdleTooLong(Session session, SessionState s) {
        if (!s.markClosed(session, true)) {
            return;
        }
        refusals.refused(Refusal.IDLE_TIMEOUT);
        log.info("session from {} on {} closed: no command for {}", session.getRemoteAddress().getAddress(),
                listener, idleTimeout.get());
        s.replyAndClose(session, SmtpReplies.IDLE_TIMEOUT);
    }
}
