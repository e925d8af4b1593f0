package dev.relay.core.auth;

import java.util.Locale;

/**
 * Authentication events, for metrics. Called on the session's thread: implementations must be fast and must
 * never throw. Never given a password; the user name is not passed either, so that tags stay low-cardinality.
 */
public interface AuthListener {
    AuthListener NONE = new AuthListener() {
    };

    /** Why an AUTH attempt did not succeed; the names are the {@code reason} tag of the metrics. */
    enum Failure {
        /** wrong user or password */
        INVALID_CREDENTIALS,
        /** refused without checking: the client address or the user is locked out */
        LOCKED_OUT,
        /** AUTH before STARTTLS on a listener that requires TLS */
        TLS_REQUIRED,
        /** a malformed exchange (bad base64, missing NUL, unknown mechanism) or a cancelled one */
        MALFORMED;

        /** The {@code reason} tag: the name in lower case, made once. */
        private final String tag = name().toLowerCase(Locale.ROOT);

        public String tag() {
            return tag;
        }
    }

    default void authSucceeded(String mechanism) {
    }

    default void authFailed(Failure failure) {
    }

    /** A client address or a user has just been locked out (counted once per lockout). */
    default void lockedOut() {
    }
}
