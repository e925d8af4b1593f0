package dev.relay.server.logging;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Masks mail addresses in log lines when {@code logging.mask-addresses} is on: {@code jane@example.com} becomes
 * {@code j***@example.com} (the domain stays: it is what an operator needs to tell providers apart). Applied by
 * the log encoders (text and JSON) to every message, so no log statement has to remember it. One setting per
 * process: the relay sets it at start from its configuration.
 */
public final class AddressMask {
    private static final Pattern ADDRESS = Pattern.compile(
            "([A-Za-z0-9!#$%&'*+/=?^_`{|}~-])[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]*@([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)");
    private static volatile boolean enabled;

    private AddressMask() {
    }

    public static void enable(boolean on) {
        enabled = on;
    }

    public static boolean enabled() {
        return enabled;
    }

    /** {@code text} with its addresses masked when masking is on; unchanged otherwise. */
    public static String apply(String text) {
        return enabled && text != null ? mask(text) : text;
    }

    /** {@code text} with every address masked. */
    static String mask(String text) {
        if (text.indexOf('@') < 0) {
            return text; // most lines: no regex work
        }
        Matcher m = ADDRESS.matcher(text);
        return m.replaceAll(r -> Matcher.quoteReplacement(r.group(1) + "***@" + r.group(2)));
    }
}
