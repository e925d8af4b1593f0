package dev.relay.config;

import java.util.Locale;

/** Which SASL mechanism the relay uses towards an upstream. */
public enum UpstreamAuth {
    /** PLAIN if the upstream offers it, else LOGIN (Office 365 offers only LOGIN); no AUTH without a username. */
    AUTO,
    /** AUTH PLAIN only. */
    PLAIN,
    /** AUTH LOGIN only. */
    LOGIN,
    /** AUTH XOAUTH2 with an access token the relay obtains from the {@code oauth2} token endpoint. */
    XOAUTH2;

    /** The configuration spelling: {@code auto}, {@code plain}, {@code login}, {@code xoauth2}. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static UpstreamAuth parse(String value) {
        return Scalars.keyed(values(), UpstreamAuth::key, value, "auth");
    }
}
