package dev.relay.core.routing;

import dev.relay.config.AddressRewrite;
import dev.relay.core.dkim.DkimSigner;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One route as the engine uses it: which messages it takes, the upstreams it tries in order, and what it changes
 * on the way out.
 *
 * @param senders   lower-cased patterns: {@code *}, {@code <>}, {@code @domain}, {@code local@domain}
 * @param users     submitting users the route is limited to; empty for any
 * @param rewrite   the outbound changes; {@link Rewrite#NONE} for none
 * @param dkim      signs what the route sends (after the rewrite), or null
 */
record Route(String name, List<String> senders, Set<String> users, List<String> upstreams, Rewrite rewrite,
             DkimSigner dkim) {
    Route {
        Objects.requireNonNull(name, "name");
        senders = senders.stream().map(s -> s.toLowerCase(Locale.ROOT)).toList();
        users = Set.copyOf(users);
        upstreams = List.copyOf(upstreams);
        if (upstreams.isEmpty()) {
            throw new IllegalArgumentException("route " + name + " has no upstream");
        }
        Objects.requireNonNull(rewrite, "rewrite");
    }

    /** A route that does not sign. */
    Route(String name, List<String> senders, Set<String> users, List<String> upstreams, Rewrite rewrite) {
        this(name, senders, users, upstreams, rewrite, null);
    }

    /** True when what is sent differs from the spooled message: a rewritten copy, or a signature in front. */
    boolean changesContent() {
        return rewrite.changesContent() || dkim != null;
    }

    /**
     * What a route changes on the way out.
     *
     * @param sender          the envelope sender, or null to keep it
     * @param from            the address of the header From, or null to keep it
     * @param replyToOriginal add the original From as Reply-To when From is rewritten and there is no Reply-To
     * @param stripHeaders    lower-case header names to remove
     */
    record Rewrite(AddressRewrite sender, AddressRewrite from, boolean replyToOriginal, Set<String> stripHeaders) {
        static final Rewrite NONE = new Rewrite(null, null, false, Set.of());

        Rewrite {
            stripHeaders = stripHeaders.stream().map(h -> h.toLowerCase(Locale.ROOT))
                    .collect(Collectors.toUnmodifiableSet());
        }

        /** True when the content must be rewritten (not just the envelope). */
        boolean changesContent() {
            return from != null || !stripHeaders.isEmpty();
        }

        MailAddress sender(MailAddress original) {
            return sender == null || original.isNullSender() ? original
                    : MailAddress.of(sender.apply(original.value()));
        }
    }

    boolean matches(Envelope envelope) {
        if (!users.isEmpty() && !users.contains(envelope.submitter())) {
            return false;
        }
        if (senders.isEmpty()) {
            return true; // users only
        }
        MailAddress sender = envelope.sender();
        String address = sender.value().toLowerCase(Locale.ROOT);
        String domain = address.substring(address.lastIndexOf('@') + 1);
        for (String pattern : senders) {
            boolean match = switch (pattern) {
                case "*" -> true;
                case "<>" -> sender.isNullSender();
                default -> !sender.isNullSender()
                        && (pattern.startsWith("@") ? pattern.substring(1).equals(domain) : pattern.equals(address));
            };
            if (match) {
                return true;
            }
        }
        return false;
    }
}
