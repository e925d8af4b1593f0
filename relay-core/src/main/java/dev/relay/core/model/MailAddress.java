package dev.relay.core.model;

import java.util.Objects;

/**
 * An envelope address as given in MAIL FROM or RCPT TO, without the angle brackets. The empty value is the null
 * reverse-path ({@code <>}) used by bounces. CR, LF, NUL, spaces and angle brackets are refused, so an address can
 * never inject a command or a header on the way out.
 */
public record MailAddress(String value) {
    public static final MailAddress NULL_SENDER = new MailAddress("");

    public MailAddress {
        Objects.requireNonNull(value, "value");
        if (value.length() > 512) {
            throw new IllegalArgumentException("address longer than 512 characters");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c <= ' ' || c == '<' || c == '>' || c == 0x7f) {
                throw new IllegalArgumentException("address contains a forbidden character (0x"
                        + Integer.toHexString(c) + ")");
            }
        }
        if (!value.isEmpty() && (value.indexOf('@') <= 0 || value.endsWith("@"))) {
            throw new IllegalArgumentException("address is not of the form local@domain");
        }
    }

    public static MailAddress of(String value) {
        return new MailAddress(value);
    }

    public boolean isNullSender() {
        return value.isEmpty();
    }

    /**
     * Whether the address names one domain: a second, unquoted {@code @} in the local part
     * ({@code ceo@other.example@example.com}) is invalid (RFC 5321 section 4.1.2) and would let a policy that reads
     * the domain after the last {@code @} judge a different address than a server further on might deliver to.
     * A quoted local part ({@code "a@b"@example.com}) is fine.
     */
    public boolean hasSingleDomain() {
        int at = value.lastIndexOf('@');
        String local = at < 0 ? value : value.substring(0, at);
        return local.indexOf('@') < 0 || local.length() >= 2 && local.startsWith("\"") && local.endsWith("\"");
    }

    /** The address in angle brackets, as SMTP commands carry it. */
    public String bracketed() {
        return "<" + value + ">";
    }

    @Override
    public String toString() {
        return value;
    }
}
