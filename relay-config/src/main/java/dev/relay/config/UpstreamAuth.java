package dev.relay.config;

/** Which SASL mechanism the relay uses towards an upstream. */
public enum UpstreamAuth implements ConfigKey {
    /** PLAIN if the upstream offers it, else LOGIN (Office 365 offers only LOGIN); no AUTH without a username. */
    AUTO,
    /** AUTH PLAIN only. */
    PLAIN,
    /** AUTH LOGIN only. */
    LOGIN,
    /** AUTH XOAUTH2 with an access token the relay obtains from the {@code oauth2} token endpoint. */
    XOAUTH2;

    public static UpstreamAuth parse(String value) {
        return Scalars.keyed(values(), UpstreamAuth::key, value, "auth");
    }
}
