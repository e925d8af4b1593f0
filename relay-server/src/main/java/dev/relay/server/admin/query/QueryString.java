package dev.relay.server.admin.query;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** A raw query string ({@code a=1&b=x%20y}) decoded into its pairs, in order. */
public final class QueryString {
    private QueryString() {
    }

    /**
     * One {@code key=value}: the key decoded; the value as it stands, decoded by {@link #value} (so a malformed value
     * is an error only where it is read). A pair without {@code =} has the value {@code ""}.
     */
    public record Pair(String key, String rawValue) {
        /** The decoded value; an {@link IllegalArgumentException} for a malformed escape. */
        public String value() {
            return URLDecoder.decode(rawValue, StandardCharsets.UTF_8);
        }
    }

    /** The pairs of {@code rawQuery} (null: none), in order. */
    public static List<Pair> pairs(String rawQuery) {
        List<Pair> out = new ArrayList<>();
        if (rawQuery != null) {
            for (String pair : rawQuery.split("&")) {
                int eq = pair.indexOf('=');
                String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                out.add(new Pair(key, eq < 0 ? "" : pair.substring(eq + 1)));
            }
        }
        return out;
    }

    /** The last value of {@code name} in {@code rawQuery}, or null. */
    public static String param(String rawQuery, String name) {
        String value = null;
        for (Pair p : pairs(rawQuery)) {
            if (p.key().equals(name)) {
                value = p.value();
            }
        }
        return value;
    }
}
