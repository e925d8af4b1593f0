package dev.relay.core.spool;

/**
 * A message body that knows, before it is read, how large it may get: the size the client declared with
 * {@code SIZE=} on MAIL FROM, else the largest message the listener accepts. {@link Spool#store} reserves that many
 * bytes of the spool's free space while the message is being received (see {@link Spool#store}), so that many
 * large messages received at once cannot together overshoot {@code spool.min-free-space}. A body stream that does
 * not implement it reserves nothing (a bounce, built in memory, is small).
 */
public interface ExpectedSize {
    /** The bytes to reserve for this message while it is received; 0 or less reserves nothing. */
    long expectedSize();
}
