package dev.relay.server.receive;

import dev.relay.server.receive.tls.WatchedSocket;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.server.Session;

/**
 * One session's state beyond subethasmtp's: what the commands count, what the deadline sweeper looks at (times
 * from the listener's clock, in nanoseconds), and how the session is closed from a thread that is not its own.
 */
final class SessionState {
    private static final Logger log = LoggerFactory.getLogger(SessionLimits.class); // its lines keep their name

    /** How long a closing reply may take to write before the socket is closed anyway. */
    static final Duration REPLY_WAIT = Duration.ofSeconds(5);

    int messages;
    int commandsBeforeMail;
    /** A command is running (guarded by this state's monitor). */
    boolean busy;
    /** Closed by the drain or a deadline: commands that still arrive are not run (this state's monitor). */
    boolean closed;
    /** When the session last began or ended a command (or was accepted). */
    volatile long lastActive;
    /** The message data being read, or null; since when (written before data). */
    volatile DataStream data;
    volatile long dataSince;
    /** A TLS handshake is running; since when (written before handshaking). */
    volatile boolean handshaking;
    volatile long handshakeSince;
    /** The connection's plain TCP socket, closed directly when a reply cannot be written (set at accept). */
    final Socket raw;

    SessionState(Socket raw, long now) {
        this.raw = raw;
        this.lastActive = now;
    }

    /** The deadline a session has passed, in the order the sweeper enforces them. */
    enum Deadline { WRITE, DATA, HANDSHAKE, IDLE, NONE }

    /**
     * Which deadline this session has passed at {@code now} (the clock's nanoseconds), given the timeouts in
     * nanoseconds: a write to the client blocked for the idle timeout, the data not ended within the data timeout,
     * a handshake not ended within the handshake timeout, or no command begun or ended within the idle timeout.
     */
    Deadline due(long now, long idle, long dataTimeout, long handshake) {
        if (raw instanceof WatchedSocket w && w.writeBlockedFor(now) > idle) {
            return Deadline.WRITE;
        } else if (data != null && now - dataSince > dataTimeout) {
            return Deadline.DATA;
        } else if (handshaking && now - handshakeSince > handshake) {
            return Deadline.HANDSHAKE;
        } else if (now - lastActive > idle) {
            return Deadline.IDLE;
        }
        return Deadline.NONE;
    }

    /**
     * Marks the session closed unless a command is running, it is closed already, or (unless
     * {@code inTransactionToo}) a mail transaction is open; true if this call closed it. The transaction state is
     * read under this state's monitor after the session thread left it, so it is current.
     */
    boolean markClosed(Session session, boolean inTransactionToo) {
        synchronized (this) {
            if (busy || closed || (!inTransactionToo && session.isMailTransactionInProgress())) {
                return false;
            }
            closed = true;
            return true;
        }
    }

    /** Closes the plain TCP socket: never waits for a TLS lock, and ends every read and write of the connection. */
    void closeRaw() {
        try {
            raw.close();
        } catch (IOException | RuntimeException e) {
            log.debug("closing a connection: {}", e.toString());
        }
    }

    /**
     * Sends {@code reply} and closes the session, from a thread of its own: the caller (the sweeper, a stop) never
     * blocks on a client that does not read. If the reply is not written within {@link #REPLY_WAIT} (the client
     * does not read, or the session thread is itself stuck writing to it and holds the TLS write lock), the plain
     * TCP socket under the session's (TLS) socket is closed: that never waits for a TLS lock, and it ends every
     * read and write of the connection.
     */
    void replyAndClose(Session session, SmtpReplies reply) {
        Thread.ofVirtual().name("relay-session-close").start(() -> {
            Thread cut = Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(REPLY_WAIT);
                } catch (InterruptedException e) {
                    return; // the reply went out and quit() closed the socket
                }
                closeRaw();
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
}
