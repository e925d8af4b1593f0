package dev.relay.server.inbound;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.server.Session;
import org.subethamail.smtp.server.SessionHandler;

/**
 * Admits sessions up to the total and per-client-address limits ({@code 421 4.7.0} beyond, before the greeting),
 * and keeps each session's own state for the commands.
 */
final class SessionLimits implements SessionHandler {
    private static final Logger log = LoggerFactory.getLogger(SessionLimits.class);

    /** Per-session state the commands need beyond subethasmtp's. */
    static final class State {
        int messages;
        int commandsBeforeMail;
    }

    private final String listener;
    private final int maxTotal;
    private final int maxPerClient;
    private final Map<Session, State> states = new ConcurrentHashMap<>();
    private final Map<InetAddress, Integer> perClient = new HashMap<>();
    private int total;

    private final Refusal.Listener refusals;

    SessionLimits(String listener, int maxTotal, int maxPerClient, Refusal.Listener refusals) {
        this.listener = listener;
        this.refusals = refusals;
        this.maxTotal = maxTotal;
        this.maxPerClient = maxPerClient;
    }

    @Override
    public synchronized SessionAcceptance accept(Session session) {
        InetAddress client = session.getRealRemoteAddress().getAddress();
        if (total >= maxTotal) {
            log.info("connection from {} on {} refused: {} connections already", client, listener, total);
            refusals.refused(Refusal.TOO_MANY_CONNECTIONS);
            return reject(SmtpReplies.TOO_MANY_CONNECTIONS);
        }
        int mine = perClient.getOrDefault(client, 0);
        if (mine >= maxPerClient) {
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
        } catch (java.io.IOException | RuntimeException e) {
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
