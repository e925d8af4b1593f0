package dev.relay.core.spool;

import java.io.IOException;

/** The spool could not store or change a message; the message's previous state is unchanged. */
public class SpoolException extends IOException {
    public SpoolException(String message, Throwable cause) {
        super(message, cause);
    }

    public SpoolException(String message) {
        super(message);
    }
}
