package dev.relay.server.receive;

import java.io.IOException;

/** A line of the message data longer than {@link DataStream#MAX_LINE} octets: the message is refused. */
final class LineTooLongException extends IOException {
    LineTooLongException() {
        super("a line of the message is longer than " + DataStream.MAX_LINE + " characters");
    }
}
