/**
 * The capture sink ({@code relay sink}, and the demo's smarthost): an SMTP server that writes each message it
 * accepts as an {@code .eml} file.
 *
 * <p>Guarantee: files appear atomically; a reader never sees half a message.
 */
package dev.relay.server.sink;
