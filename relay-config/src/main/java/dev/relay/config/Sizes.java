package dev.relay.config;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Byte sizes as written in the configuration: {@code 0}, {@code 4096}, {@code 512KiB}, {@code 100MiB}, {@code 1GiB}. */
final class Sizes {
    private static final Pattern SIZE = Pattern.compile("([0-9]{1,15})\\s*(b|k|m|g|kib|mib|gib|tib|kb|mb|gb|tb)?");

    private Sizes() {
    }

    static long parse(String text) {
        Matcher m = SIZE.matcher(text.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("not a size: write a number and a unit (B, KiB, MiB, GiB, TiB, or "
                    + "KB, MB, GB, TB for powers of 1000), e.g. 256MiB");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "b" : m.group(2);
        long factor = switch (unit) {
            case "k", "kib" -> 1L << 10;
            case "m", "mib" -> 1L << 20;
            case "g", "gib" -> 1L << 30;
            case "tib" -> 1L << 40;
            case "kb" -> 1_000L;
            case "mb" -> 1_000_000L;
            case "gb" -> 1_000_000_000L;
            case "tb" -> 1_000_000_000_000L;
            default -> 1L;
        };
        try {
            return Math.multiplyExact(n, factor);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("the size is too large");
        }
    }

    /** The shortest exact binary spelling that {@link #parse} reads back. */
    static String format(long bytes) {
        String[] units = {"TiB", "GiB", "MiB", "KiB"};
        int[] shifts = {40, 30, 20, 10};
        for (int i = 0; i < units.length; i++) {
            long unit = 1L << shifts[i];
            if (bytes != 0 && bytes % unit == 0) {
                return bytes / unit + units[i];
            }
        }
        return Long.toString(bytes);
    }
}
