package dev.relay.core.auth;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Which envelope senders and recipients a submitter may use. Sender patterns: {@code *} (any sender, including
 * the null sender {@code <>}), {@code @example.com} (any address of that domain, not its subdomains) or an exact
 * address; domains and addresses compare case-insensitively. A user without an entry gets the entry of user
 * {@code *}, and without that any sender and recipient; clients of trusted networks get the trusted-senders list.
 */
public final class SenderPolicy {
    public static final String ANY = "*";

    private record Rules(List<String> senders, List<String> recipientDomains, boolean checkHeaderFrom) {
    }

    private static final Rules OPEN = new Rules(List.of(ANY), List.of(), false);

    private final Map<String, Rules> users = new HashMap<>();
    private final Rules trusted;

    /** A policy that lets every user and trusted client use any sender and recipient. */
    public static SenderPolicy open() {
        return new SenderPolicy(List.of(ANY));
    }

    public SenderPolicy(List<String> trustedSenders) {
        this.trusted = new Rules(normalise(trustedSenders), List.of(), false);
    }

    /** Adds the rules of {@code user} (or of {@link #ANY} user); an empty list allows anything. */
    public SenderPolicy user(String user, List<String> senders, List<String> recipientDomains) {
        return user(user, senders, recipientDomains, false);
    }

    /** As {@link #user(String, List, List)}; {@code checkHeaderFrom}: the header From must be an allowed sender. */
    public SenderPolicy user(String user, List<String> senders, List<String> recipientDomains,
                             boolean checkHeaderFrom) {
        users.put(user, new Rules(normalise(senders.isEmpty() ? List.of(ANY) : senders),
                normalise(recipientDomains), checkHeaderFrom));
        return this;
    }

    /** True if the header From of {@code user}'s messages must be one of the user's senders (never for null). */
    public boolean checksHeaderFrom(String user) {
        return user != null && rules(user).checkHeaderFrom();
    }

    /** True if {@code user} (null: a client of a trusted network) may use {@code sender} ("" is the null sender). */
    public boolean senderAllowed(String user, String sender) {
        return matches(rules(user).senders(), sender.toLowerCase(Locale.ROOT));
    }

    /** True if {@code user} (null: a trusted client, never limited) may send to {@code recipient}. */
    public boolean recipientAllowed(String user, String recipient) {
        List<String> domains = rules(user).recipientDomains();
        if (domains.isEmpty()) {
            return true;
        }
        String domain = recipient.substring(recipient.lastIndexOf('@') + 1).toLowerCase(Locale.ROOT);
        return domains.contains(domain);
    }

    private Rules rules(String user) {
        if (user == null) {
            return trusted;
        }
        return users.getOrDefault(user, users.getOrDefault(ANY, OPEN));
    }

    static boolean matches(List<String> patterns, String sender) {
        for (String p : patterns) {
            if (p.equals(ANY)) {
                return true;
            }
            if (sender.isEmpty()) {
                continue; // the null sender matches only *
            }
            if (p.startsWith("@") ? sender.endsWith(p) && sender.lastIndexOf('@') == sender.length() - p.length()
                    : p.equals(sender)) {
                return true;
            }
        }
        return false;
    }

    private static List<String> normalise(List<String> patterns) {
        List<String> out = new ArrayList<>();
        for (String p : patterns) {
            out.add(p.strip().toLowerCase(Locale.ROOT));
        }
        return List.copyOf(out);
    }
}
