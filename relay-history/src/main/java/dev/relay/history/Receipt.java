package dev.relay.history;

/**
 * What the receiving side knows of a message beyond its envelope, for its history.
 *
 * @param listener    the listener's name ({@code listeners[].name})
 * @param client      the client's IP address
 * @param user        the authenticated user, or null for a client of a trusted network
 * @param tlsProtocol the TLS version ({@code TLSv1.3}), or null without TLS
 * @param tlsCipher   the cipher suite, or null without TLS
 * @param messageId   the {@code Message-ID} header as stored (the relay adds one when missing), or null
 * @param subject     the {@code Subject} header (unfolded), or null
 */
public record Receipt(String listener, String client, String user, String tlsProtocol, String tlsCipher,
                      String messageId, String subject) {

    /** Where the receive side hands a message's receipt, after its 250 is decided. Must be fast, never throw. */
    public interface Log {
        Log NONE = (id, receipt) -> { };

        void received(dev.relay.core.model.QueueId id, Receipt receipt);

        /**
         * The message {@code id} was handed off by another replica, where its queue id was {@code originalId};
         * {@code header} is its {@code X-Relay-Handoff} field. Must be fast, never throw.
         */
        default void handedOff(dev.relay.core.model.QueueId id, String originalId, String header) {
        }
    }
}
