package dev.relay.config;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/** The rules of the {@code routes} section, against the configured upstreams. Tolerates null parts. */
final class RouteRules {
    private RouteRules() {
    }

    static void check(List<RouteConfig> routes, List<UpstreamConfig> upstreams, Problems p) {
        Set<String> known = upstreams.stream().filter(u -> u != null && u.name() != null)
                .map(UpstreamConfig::name).collect(Collectors.toCollection(java.util.LinkedHashSet::new));
        Map<String, Integer> names = new HashMap<>();
        String catchAll = null;
        for (int i = 0; i < routes.size(); i++) {
            String at = "routes[" + i + "]";
            RouteConfig r = routes.get(i);
            if (r == null) {
                p.missing(at, "this route is empty: set at least its upstreams, e.g. {senders: [\"*\"], "
                        + "upstreams: [primary]}");
                continue;
            }
            if (r.name() != null && !r.name().isBlank()) {
                Integer first = names.putIfAbsent(r.name(), i);
                if (first != null) {
                    p.error(at + ".name", r.name(), "the name is already used by routes[" + first
                            + "]: give every route its own name");
                }
            }
            if (catchAll != null) {
                p.warn(at + " (" + r.name() + ") is never used: " + catchAll + " before it takes every message "
                        + "(senders: [\"*\"] without users); move it before " + catchAll + " or remove it");
            }
            checkSenders(at, r, p);
            checkUsers(at, r, p);
            checkUpstreams(at, r, known, p);
            checkRewrite(at, r, p);
            checkDkim(at + ".dkim", r.dkim(), p);
            if (catchAll == null && r.isCatchAll()) {
                catchAll = at;
            }
        }
    }

    private static void checkSenders(String at, RouteConfig r, Problems p) {
        if (r.senders().isEmpty() && r.users().isEmpty()) {
            p.missing(at + ".senders", "say which messages the route takes: senders (e.g. [\"@example.com\", "
                    + "\"alice@example.org\"] or [\"*\"] for any sender) and/or users");
        }
        for (int j = 0; j < r.senders().size(); j++) {
            String s = r.senders().get(j);
            if (!isSenderPattern(s)) {
                p.error(at + ".senders[" + j + "]", s, "not a sender pattern: use \"*\" (any sender), "
                        + "\"@example.com\" (a domain), \"alice@example.org\" (one address) or \"<>\" (bounces)");
            }
        }
    }

    static boolean isSenderPattern(String s) {
        if (s == null) {
            return false;
        }
        if (s.equals("*") || s.equals("<>")) {
            return true;
        }
        int at = s.lastIndexOf('@');
        if (at < 0 || at == s.length() - 1 || s.indexOf('*') >= 0) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c <= ' ' || c == '<' || c == '>' || c == 0x7f) {
                return false;
            }
        }
        return s.substring(at + 1).matches("[^.@]+(\\.[^.@]+)*");
    }

    private static void checkUsers(String at, RouteConfig r, Problems p) {
        for (int j = 0; j < r.users().size(); j++) {
            String u = r.users().get(j);
            if (u == null || u.isBlank() || u.chars().anyMatch(c -> c <= ' ')) {
                p.error(at + ".users[" + j + "]", u, "not a user name: use a name from auth.users-file, "
                        + "without spaces");
            }
        }
    }

    private static void checkUpstreams(String at, RouteConfig r, Set<String> known, Problems p) {
        if (r.upstreams().isEmpty()) {
            p.missing(at + ".upstreams", "a route needs at least one upstream, tried in order: e.g. [" 
                    + String.join(", ", known) + "]");
        }
        Set<String> seen = new HashSet<>();
        for (int j = 0; j < r.upstreams().size(); j++) {
            String u = r.upstreams().get(j);
            String key = at + ".upstreams[" + j + "]";
            if (!known.contains(u)) {
                p.error(key, u, "no upstream is named '" + u + "': use one of the names under upstreams ("
                        + String.join(", ", known) + ")");
            } else if (!seen.add(u)) {
                p.error(key, u, "'" + u + "' is already in this route's list: name each upstream once");
            }
        }
    }

    private static void checkRewrite(String at, RouteConfig r, Problems p) {
        if (r.replyToOriginal() && r.rewriteFrom() == null) {
            p.error(at + ".reply-to-original", "true", "reply-to-original keeps the original From when the "
                    + "From is rewritten: set rewrite-from too (e.g. noreply@example.com) or remove it");
        }
        checkHeaderNames(at + ".strip-headers", r.stripHeaders(), "X-Originating-IP", p);
    }

    /** A DNS name of letters, digits and inner hyphens, in dot-separated labels (RFC 6376 sub-domain). */
    private static final String DNS_NAME = "[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*";

    /** The key file itself is checked before start and reload (it is read there, not here). */
    private static void checkDkim(String at, DkimConfig d, Problems p) {
        if (d == null) {
            return;
        }
        if (d.domain() == null || d.domain().isBlank()) {
            p.missing(at + ".domain", "the signing domain (d=) is required: the domain whose DNS publishes the "
                    + "key, e.g. example.com");
        } else if (!d.domain().matches(DNS_NAME) || !d.domain().contains(".")) {
            p.error(at + ".domain", d.domain(), "not a domain name: use the domain of your From addresses, "
                    + "e.g. example.com");
        }
        if (d.selector() == null || d.selector().isBlank()) {
            p.missing(at + ".selector", "the selector (s=) is required: the name the key is published under, "
                    + "<selector>._domainkey.<domain>, e.g. relay2026");
        } else if (!d.selector().matches(DNS_NAME)) {
            p.error(at + ".selector", d.selector(), "not a selector: use letters, digits, '-' and '.', "
                    + "e.g. relay2026");
        }
        if (d.keyFile() == null) {
            p.missing(at + ".key-file", "the PEM file of the private key is required, e.g. /etc/relay/dkim.pem "
                    + "(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out dkim.pem)");
        }
        checkHeaderNames(at + ".headers", d.headers(), "subject", p);
        int self = d.headers().indexOf("dkim-signature");
        if (self >= 0) {
            p.error(at + ".headers[" + self + "]", "dkim-signature", "the signature cannot sign itself: remove "
                    + "dkim-signature");
        }
        if (!d.headers().contains("from")) {
            p.error(at + ".headers", String.join(", ", d.headers()), "RFC 6376 requires the From field to be "
                    + "signed: add from to the list");
        }
    }

    private static void checkHeaderNames(String at, List<String> names, String example, Problems p) {
        for (int j = 0; j < names.size(); j++) {
            String h = names.get(j);
            if (h == null || !h.matches("[!-9;-~]+")) {
                p.error(at + "[" + j + "]", h, "not a header name: use the name without the colon, e.g. " + example);
            }
        }
    }
}
