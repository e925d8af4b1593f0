package dev.relay.config;

/** How a connection is protected: STARTTLS upgrade, TLS from the first byte, or none (loopback only). */
public enum TlsMode implements ConfigKey {
    /** RFC 3207: plain greeting, then STARTTLS before anything else that matters. */
    STARTTLS,
    /** RFC 8314: TLS from the first byte (465, or 443 on networks that only let HTTPS out). */
    IMPLICIT,
    /** No TLS at all: accepted only on loopback addresses. */
    NONE;

    public static TlsMode parse(String value) {
        return Scalars.keyed(values(), TlsMode::key, value, "TLS mode");
    }
}
