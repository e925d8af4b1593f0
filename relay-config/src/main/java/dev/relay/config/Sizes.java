package dev.relay.config;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Byte sizes as written in the configuration: {@code 1048576}, {@code 512KiB}, {@code 25MiB}, {@code 1GiB}, {@code 10MB}. */
final class Sizes {
    private static final Pattern SIZE = Pattern.compile("([0-9]{1,12})\\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?");

    private Sizes() {
    }

    static long parse(String text) {
        Matcher m = SIZE.matcher(text.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("not a size: write bytes or a number and a unit (512KiB, 25MiB, "
                    + "1GiB; KB/MB/GB are powers of 1000)");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "b" : m.group(2);
        long factor = switch (unit) {
            case "k", "kib" -> 1L << 10;
            case "m", "mib" -> 1L << 20;
            case "g", "gib" -> 1L << 30;
            case "kb" -> 1_000L;
            case "mb" -> 1_000_000L;
            case "gb" -> 1_000_000_000L;
            default -> 1L;
        };
        return Math.multiplyExact(n, factor);
    }

    /** The shortest exact spelling that {@link #parse} reads back. */
    static String format(long bytes) {
        if (bytes > 0 && bytes % (1L << 30) == 0) {
            return bytes / (1L << 30) + "GiB";
        }
        if (bytes > 0 && bytes % (1L << 20) == 0) {
            return bytes / (1L << 20) + "MiB";
        }
        if (bytes > 0 && bytes % (1L << 10) == 0) {
            return bytes / (1L << 10) + "KiB";
        }
        return Long.toString(bytes);
    }
}
