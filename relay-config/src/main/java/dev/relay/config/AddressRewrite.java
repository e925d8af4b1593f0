package dev.relay.config;

import java.util.Locale;
import java.util.Objects;

/**
 * What an address becomes on the way out: a fixed address ({@code noreply@example.com}) or the same local part at
 * another domain ({@code @example.com}).
 *
 * @param localPart the fixed local part, or null to keep the original one
 * @param domain    the domain
 */
public record AddressRewrite(String localPart, String domain) {
    public AddressRewrite {
        Objects.requireNonNull(domain, "domain");
        if (localPart != null && (localPart.isEmpty() || !isAtext(localPart, true))) {
            throw new IllegalArgumentException("not a valid local part: '" + localPart + "'");
        }
        if (!domain.matches("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+")) {
            throw new IllegalArgumentException("not a valid domain: '" + domain + "'");
        }
    }

    /** {@code noreply@example.com} (a fixed address) or {@code @example.com} (keep the local part). */
    public static AddressRewrite parse(String text) {
        String t = text.trim();
        int at = t.lastIndexOf('@');
        if (at < 0) {
            throw new IllegalArgumentException("expected an address (noreply@example.com) or a domain with a "
                    + "leading @ (@example.com), not '" + t + "'");
        }
        try {
            return new AddressRewrite(at == 0 ? null : t.substring(0, at), t.substring(at + 1));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + ": expected an address (noreply@example.com) or "
                    + "a domain with a leading @ (@example.com)");
        }
    }

    /** {@code original} rewritten: the fixed address, or its local part at {@link #domain}. */
    public String apply(String original) {
        if (localPart != null) {
            return localPart + "@" + domain;
        }
        int at = original.lastIndexOf('@');
        return (at < 0 ? original : original.substring(0, at)) + "@" + domain;
    }

    public boolean keepsLocalPart() {
        return localPart == null;
    }

    private static boolean isAtext(String s, boolean dots) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                    || "!#$%&'*+-/=?^_`{|}~".indexOf(c) >= 0 || dots && c == '.';
            if (!ok) {
                return false;
            }
        }
        return !s.startsWith(".") && !s.endsWith(".") && !s.contains("..");
    }

    @Override
    public String toString() {
        return (localPart == null ? "" : localPart) + "@" + domain.toLowerCase(Locale.ROOT);
    }
}
