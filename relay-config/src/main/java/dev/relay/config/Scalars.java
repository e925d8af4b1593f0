package dev.relay.config;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The parsers of single configuration values (numbers, booleans, URLs, regular expressions, labels): each returns
 * the value or throws {@link IllegalArgumentException} with what to write instead, which the binder reports against
 * the key it was reading.
 */
final class Scalars {
    private Scalars() {
    }

    /** A whole number (negative ones too: the validator says what range is allowed). */
    static int integer(String text) {
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a whole number, e.g. 100");
        }
    }

    /**
     * The constant of {@code values} whose {@code key} is {@code value} (case and surrounding space aside); else
     * "unknown {@code what} 'value': use a, b or c".
     */
    static <E extends Enum<E>> E keyed(E[] values, Function<E, String> key, String value, String what) {
        List<String> keys = new ArrayList<>();
        for (E e : values) {
            if (key.apply(e).equalsIgnoreCase(value.trim())) {
                return e;
            }
            keys.add(key.apply(e));
        }
        String last = keys.remove(keys.size() - 1);
        throw new IllegalArgumentException("unknown " + what + " '" + value + "': use "
                + (keys.isEmpty() ? "" : String.join(", ", keys) + " or ") + last);
    }

    /** A Java regular expression, checked here so that a bad one is a configuration error naming its key. */
    static String regex(String s) {
        try {
            java.util.regex.Pattern.compile(s);
            return s;
        } catch (java.util.regex.PatternSyntaxException e) {
            throw new IllegalArgumentException("not a valid regular expression: " + e.getDescription()
                    + " near index " + e.getIndex());
        }
    }

    static String accountAction(String s) {
        String a = s.trim().toLowerCase(java.util.Locale.ROOT);
        if (!UpstreamConfig.ACCOUNT_ACTIONS.contains(a)) {
            throw new IllegalArgumentException("unknown action '" + s + "': use "
                    + String.join(", ", UpstreamConfig.ACCOUNT_ACTIONS));
        }
        return a;
    }

    /** A metric label value: letters, digits and _ only. */
    static String label(String s) {
        if (!s.matches("[A-Za-z0-9_]{1,64}")) {
            throw new IllegalArgumentException("a reason is a metric label: letters, digits and _ only, e.g. "
                    + "quota_reached");
        }
        return s;
    }

    static double decimal(String s) {
        try {
            double d = Double.parseDouble(s.trim());
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a number: write e.g. 14 or 0.5");
        }
    }

    static java.net.URI uri(String s) {
        try {
            java.net.URI uri = new java.net.URI(s.trim());
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
            if (!scheme.equals("https") && !scheme.equals("http") || uri.getHost() == null) {
                throw new java.net.URISyntaxException(s, "not http(s)");
            }
            return uri;
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("not an https URL: write e.g. "
                    + "https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token");
        }
    }

    static Boolean bool(String text) {
        return switch (text.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> throw new IllegalArgumentException("expected true or false");
        };
    }
}
