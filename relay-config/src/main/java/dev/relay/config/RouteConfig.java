package dev.relay.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One route: which messages it takes (by envelope sender and optionally by the authenticated user) and the
 * upstreams it tries, in order, plus what it changes on the way out. Routes are matched in configuration order;
 * a message no route takes goes through every upstream in configuration order.
 *
 * @param name            a unique name, for logs
 * @param senders         {@code *} (any sender), {@code @example.com} (a domain), {@code alice@example.org} (one
 *                        address) or {@code <>} (bounces); empty means any sender (only with users)
 * @param users           authenticated user names the route is limited to; empty means any submitter
 * @param upstreams       upstream names, tried in this order; at least one
 * @param rewriteSender   the envelope sender (MAIL FROM) on the way out, or null to keep it
 * @param rewriteFrom     the address in the header From on the way out, or null to keep it
 * @param replyToOriginal when the From is rewritten, add the original From as Reply-To if there is none
 * @param stripHeaders    header names removed on the way out (case-insensitive)
 * @param dkim            the DKIM signature added on the way out (after any rewriting), or null for none
 */
public record RouteConfig(String name, List<String> senders, List<String> users, List<String> upstreams,
                          AddressRewrite rewriteSender, AddressRewrite rewriteFrom, boolean replyToOriginal,
                          List<String> stripHeaders, DkimConfig dkim) {
    public RouteConfig {
        senders = copy(senders);
        users = copy(users);
        upstreams = copy(upstreams);
        stripHeaders = copy(stripHeaders);
    }

    /** A route without rewriting. */
    public RouteConfig(String name, List<String> senders, List<String> users, List<String> upstreams) {
        this(name, senders, users, upstreams, null, null, false, List.of(), null);
    }

    /** A route without a DKIM signature. */
    public RouteConfig(String name, List<String> senders, List<String> users, List<String> upstreams,
                       AddressRewrite rewriteSender, AddressRewrite rewriteFrom, boolean replyToOriginal,
                       List<String> stripHeaders) {
        this(name, senders, users, upstreams, rewriteSender, rewriteFrom, replyToOriginal, stripHeaders, null);
    }

    /** True when the route takes every message: any sender, any submitter. */
    public boolean isCatchAll() {
        return users.isEmpty() && senders.contains("*");
    }

    private static List<String> copy(List<String> list) {
        return list == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(list));
    }
}
