package dev.relay.bench;

/**
 * Open-loop pacing of a run at a fixed total rate: the run's messages are due at even intervals of
 * {@code 1 / rate} from its start, dealt to the connections in turn (message {@code k} of the run is message
 * {@code k / connections} of connection {@code k % connections}). Each connection sends a message when it is due,
 * or at once when the previous one made it late; the due times never depend on how fast the server answers.
 */
record Pacing(int connections, double ratePerSecond) {
    Pacing {
        if (connections < 1) {
            throw new IllegalArgumentException("connections must be at least 1, was " + connections);
        }
        if (!(ratePerSecond > 0) || Double.isInfinite(ratePerSecond)) {
            throw new IllegalArgumentException("rate must be a positive number of messages per second, was "
                    + ratePerSecond);
        }
    }

    /** Nanoseconds from the start of the run at which message {@code index} of {@code connection} is due. */
    long dueNanos(int connection, int index) {
        if (connection < 0 || connection >= connections || index < 0) {
            throw new IllegalArgumentException("no message " + index + " of connection " + connection);
        }
        long k = (long) index * connections + connection;
        return Math.round(k * 1e9 / ratePerSecond);
    }
}
