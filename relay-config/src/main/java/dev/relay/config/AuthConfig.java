package dev.relay.config;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Who may relay: users of an htpasswd (bcrypt) file after AUTH, and clients from trusted networks without AUTH.
 * At least one of the two must be set: the relay is never an open relay.
 *
 * @param usersFile       the htpasswd file (not read here), or null
 * @param trustedNetworks networks allowed to relay without AUTH; empty by default
 * @param policies        per-user sender and recipient allow-lists; empty by default (any sender, any recipient)
 * @param trustedSenders  envelope senders clients of the trusted networks may use ({@code *}, {@code @domain},
 *                        addresses); default {@code *}
 * @param iAmAnOpenRelay  {@code auth.i-am-an-open-relay}: accept trusted networks so wide they cover the internet
 *                        ({@link Cidr#coversTheInternet()}); false by default, when such a network is an error
 */
public record AuthConfig(Path usersFile, List<Cidr> trustedNetworks, List<UserPolicy> policies,
                         List<String> trustedSenders, boolean iAmAnOpenRelay) {
    public static final List<String> ANY_SENDER = List.of("*");

    public AuthConfig {
        trustedNetworks = copy(trustedNetworks);
        policies = copy(policies);
        trustedSenders = trustedSenders == null || trustedSenders.isEmpty() ? ANY_SENDER : copy(trustedSenders);
    }

    public AuthConfig(Path usersFile, List<Cidr> trustedNetworks, List<UserPolicy> policies,
                      List<String> trustedSenders) {
        this(usersFile, trustedNetworks, policies, trustedSenders, false);
    }

    public AuthConfig(Path usersFile, List<Cidr> trustedNetworks) {
        this(usersFile, trustedNetworks, List.of(), ANY_SENDER);
    }

    /** True if {@code client} is in one of the trusted networks. */
    public boolean isTrusted(InetAddress client) {
        return trustedNetworks.stream().anyMatch(n -> n != null && n.contains(client));
    }

    private static <T> List<T> copy(List<T> list) {
        return list == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(list));
    }
}
