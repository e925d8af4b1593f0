/**
 * Logging set up in code (text or JSON lines on stderr) and the masking of mail addresses in every log line when
 * {@code logging.mask-addresses} is on.
 *
 * <p>Guarantee: a log statement never has to remember masking or escaping: the encoders mask addresses and, in
 * the text format, escape control characters (a value a client chose cannot forge a log line) in every message.
 */
package dev.relay.server.logging;
