package dev.relay.core.delivery;

/**
 * What every connection to one upstream shares.
 *
 * @param heloName the name for EHLO/HELO, or null for the address literal of the local socket
 * @param tls      the client TLS context, or null when the target's mode is none
 * @param tokens   the XOAUTH2 access tokens, or null unless the target uses XOAUTH2
 */
record ConnectionSettings(UpstreamTarget target, String heloName, ClientTlsContexts.Lazy tls, OAuth2TokenSource tokens) {

    String hostPort() {
        return DeliveryJob.hostPort(target);
    }
}
