package dev.relay.config;

import java.time.Duration;

/**
 * Limits of the SMTP listeners against mistakes and abuse; every value has a safe default.
 *
 * @param maxMessageSize           bytes; announced as SIZE, refused at MAIL and at end of data; default 25 MiB
 * @param maxRecipients            RCPT per message; default 100
 * @param maxConnections           sessions at once per listener; default 200
 * @param maxConnectionsPerClient  sessions at once from one client address; default 20
 * @param idleTimeout              time a client may stay silent; default 5 minutes (RFC 5321)
 * @param maxMessagesPerConnection messages in one session; default 100
 * @param authMaxFailures          failed AUTH attempts (per client address, per user) before a lockout; default 5
 * @param authLockout              how long a lockout lasts, and how long failures are remembered; default 15 minutes
 * @param authFailureDelay         delay before a failed AUTH is answered, doubling with each failure; default 1s
 * @param dataTimeout              the whole message data (DATA to the final dot) must come within this, whatever
 *                                 the pace (slowloris); default 10 minutes
 * @param maxCommandsBeforeMail    commands a session may send before a MAIL that is accepted (EHLO, NOOP, RSET,
 *                                 AUTH, ... counted again from zero after each); default 50
 * @param userMessagesPerMinute    messages one authenticated user may submit in any minute; 0 = unlimited (default)
 * @param userRecipientsPerDay     recipients one authenticated user may submit to in any 24 hours; 0 = unlimited
 *                                 (default)
 */
public record LimitsConfig(long maxMessageSize, int maxRecipients, int maxConnections, int maxConnectionsPerClient,
                           Duration idleTimeout, int maxMessagesPerConnection, int authMaxFailures,
                           Duration authLockout, Duration authFailureDelay, Duration dataTimeout,
                           int maxCommandsBeforeMail, int userMessagesPerMinute, long userRecipientsPerDay) {
    public static final long DEFAULT_MAX_MESSAGE_SIZE = 25L << 20;
    public static final Duration DEFAULT_DATA_TIMEOUT = Duration.ofMinutes(10);
    public static final int DEFAULT_MAX_COMMANDS_BEFORE_MAIL = 50;

    public LimitsConfig {
        idleTimeout = idleTimeout == null ? Duration.ofMinutes(5) : idleTimeout;
        authLockout = authLockout == null ? Duration.ofMinutes(15) : authLockout;
        authFailureDelay = authFailureDelay == null ? Duration.ofSeconds(1) : authFailureDelay;
        dataTimeout = dataTimeout == null ? DEFAULT_DATA_TIMEOUT : dataTimeout;
    }

    /** The limits before the data timeout, the command limit and the user quotas existed: those get defaults. */
    public LimitsConfig(long maxMessageSize, int maxRecipients, int maxConnections, int maxConnectionsPerClient,
                        Duration idleTimeout, int maxMessagesPerConnection, int authMaxFailures,
                        Duration authLockout, Duration authFailureDelay) {
        this(maxMessageSize, maxRecipients, maxConnections, maxConnectionsPerClient, idleTimeout,
                maxMessagesPerConnection, authMaxFailures, authLockout, authFailureDelay, DEFAULT_DATA_TIMEOUT,
                DEFAULT_MAX_COMMANDS_BEFORE_MAIL, 0, 0);
    }

    public static LimitsConfig defaults() {
        return new LimitsConfig(DEFAULT_MAX_MESSAGE_SIZE, 100, 200, 20, Duration.ofMinutes(5), 100, 5,
                Duration.ofMinutes(15), Duration.ofSeconds(1));
    }
}
