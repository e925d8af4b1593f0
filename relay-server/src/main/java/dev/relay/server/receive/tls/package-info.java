/**
 * Socket and TLS plumbing under the receive stage, knowing nothing of SMTP: the listening socket that can stop
 * accepting on its own ({@code ListeningSocket}), the server's TLS context and its reloadable certificates chosen by
 * SNI ({@code ServerTls}, {@code ServerCertificates}), the TLS socket whose replies to a pipelined group leave in
 * one record ({@code BatchingTlsSocket}, {@code ReplyBatching}), and the session threads ({@code SessionThreads}).
 *
 * <p>Guarantee: TLS 1.2 or 1.3 only, no client certificates asked for; a TLS socket keeps its plain TCP socket
 * ({@code BatchingTlsSocket.raw()}), so a connection can always be closed without waiting for a TLS lock.
 */
package dev.relay.server.receive.tls;
