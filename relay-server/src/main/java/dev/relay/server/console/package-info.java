/**
 * The web console on the admin listener ({@code /}): server-rendered pages (jte templates precompiled at build
 * time) over the queue, the message history, the metrics registry and, on the demo defaults, the capture sink's
 * outbox; its login, session cookie and CSRF tokens.
 */
package dev.relay.server.console;
