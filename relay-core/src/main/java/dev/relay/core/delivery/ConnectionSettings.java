package dev.relay.core.delivery;

/**
 * What every connection to one upstream shares.
 *
 * @param heloName the name for EHLO/HELO, or null for the address literal of the local socket
 * @param tls      the client TLS context, or null when the target's mode is none
 * @param tokens   the XOAUTH2 access tokens, or null unless the target uses XOAUTH2
 * @param hostPort the upstream as the log and the failures name it ({@code host:port}, {@code [v6]:port}), made
 *                 once here rather than by each connection and each of its parts
 */
record ConnectionSettings(UpstreamTarget target, String heloName, ClientTlsContexts.Lazy tls, OAuth2TokenSource tokens,
                          String hostPort) {

    ConnectionSettings(UpstreamTarget target, String heloName, ClientTlsContexts.Lazy tls, OAuth2TokenSource tokens) {
        this(target, heloName, tls, tokens, DeliveryJob.hostPort(target));
    }
}
