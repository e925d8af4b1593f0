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
 */
public record AuthConfig(Path usersFile, List<Cidr> trustedNetworks) {
    public AuthConfig {
        trustedNetworks = trustedNetworks == null ? List.of()
                : Collections.unmodifiableList(new ArrayList<>(trustedNetworks));
    }

    /** True if {@code client} is in one of the trusted networks. */
    public boolean isTrusted(InetAddress client) {
        return trustedNetworks.stream().anyMatch(n -> n != null && n.contains(client));
    }
}
