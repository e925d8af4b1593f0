package dev.relay.core.auth;

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
        INVALID_CREDENTIALS("invalid_credentials"),
        /** refused without checking: the client address or the user is locked out */
        LOCKED_OUT("locked_out"),
        /** AUTH before STARTTLS on a listener that requires TLS */
        TLS_REQUIRED("tls_required"),
        /** a malformed exchange (bad base64, missing NUL, unknown mechanism) or a cancelled one */
        MALFORMED("malformed");

        private final String tag;

        Failure(String tag) {
            this.tag = tag;
        }

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
