package dev.relay.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What one authenticated user may do. The entry for user {@code *} applies to every user without an entry of its
 * own; a user with neither may use any sender and any recipient (documented default).
 *
 * @param user             a user of the users file, or {@code *}
 * @param senders          envelope senders the user may use: {@code alice@example.com}, {@code @example.com} (any
 *                         address of the domain) or {@code *}; empty means any sender
 * @param recipientDomains domains the user may send to (exact domain names); empty means any recipient
 * @param checkHeaderFrom  the header {@code From:} addresses must also be among {@code senders} (default false)
 */
public record UserPolicy(String user, List<String> senders, List<String> recipientDomains,
                         boolean checkHeaderFrom) {
    public static final String ANY_USER = "*";

    public UserPolicy {
        senders = senders == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(senders));
        recipientDomains = recipientDomains == null ? List.of()
                : Collections.unmodifiableList(new ArrayList<>(recipientDomains));
    }

    /** A policy without the header From check (the signature before {@code checkHeaderFrom} existed). */
    public UserPolicy(String user, List<String> senders, List<String> recipientDomains) {
        this(user, senders, recipientDomains, false);
    }
}
