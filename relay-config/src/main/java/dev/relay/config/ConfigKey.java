package dev.relay.config;

import java.util.Locale;

/**
 * An enum of the configuration, spelled there as its constant's name in lower case with {@code -} for {@code _}
 * ({@code STARTTLS} is {@code starttls}, {@code RSA_SHA256} is {@code rsa-sha256}): the one rule for every such
 * enum, so that no two spell alike names differently.
 */
public interface ConfigKey {
    /** The constant's name (an enum's own {@link Enum#name()}). */
    String name();

    /** The configuration spelling. */
    default String key() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
