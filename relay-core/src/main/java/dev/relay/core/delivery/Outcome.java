package dev.relay.core.delivery;

/**
 * What became of one recipient in one delivery attempt. {@code detail} is the upstream's reply (code, enhanced
 * status code and text) or, when there was no reply, a short description of the failure; it goes to logs and
 * bounces and never contains credentials.
 */
public sealed interface Outcome {
    String detail();

    /** The upstream accepted responsibility (2xx after DATA). */
    record Delivered(String detail) implements Outcome {}

    /** Try again later: a 4xx reply, a connection, TLS or timeout failure. */
    record TransientFailure(String detail) implements Outcome {}

    /** Never try again: a 5xx reply, or a message the upstream cannot take as it is. */
    record PermanentFailure(String detail) implements Outcome {}
}
