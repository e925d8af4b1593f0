package dev.relay.core.model;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.Objects;

/**
 * A message's queue id: time-ordered (milliseconds since the epoch in base 32, then 40 random bits), safe as a
 * file name, and short enough for log lines ({@code 01JD4X3K8M-7Q2ZK9MBCW}).
 */
public record QueueId(String value) {
    private static final char[] ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".toCharArray();
    private static final SecureRandom RANDOM = new SecureRandom();

    public QueueId {
        Objects.requireNonNull(value, "value");
        if (!wellFormed(value)) {
            throw new IllegalArgumentException("not a queue id: " + value);
        }
    }

    public static QueueId next(Instant now) {
        StringBuilder sb = new StringBuilder(19);
        append(sb, now.toEpochMilli(), 10);
        sb.append('-');
        append(sb, RANDOM.nextLong() & 0xFF_FFFF_FFFFL, 8);
        return new QueueId(sb.toString());
    }

    public static boolean isValid(String value) {
        return value != null && wellFormed(value);
    }

    /** The time the id was made (to the millisecond), read back from its first ten characters. */
    public Instant time() {
        long ms = 0;
        for (int i = 0; i < 10; i++) {
            ms = (ms << 5) | Math.max(0, new String(ALPHABET).indexOf(value.charAt(i)));
        }
        return Instant.ofEpochMilli(ms);
    }

    private static void append(StringBuilder sb, long v, int digits) {
        char[] out = new char[digits];
        for (int i = digits - 1; i >= 0; i--) {
            out[i] = ALPHABET[(int) (v & 31)];
            v >>>= 5;
        }
        sb.append(out);
    }

    @Override
    public String toString() {
        return value;
    }

    /** Ten and eight characters of [0-9A-Z] around a dash, checked by hand: this runs for every message event. */
    private static boolean wellFormed(String v) {
        if (v.length() != 19 || v.charAt(10) != '-') {
            return false;
        }
        for (int i = 0; i < 19; i++) {
            char c = v.charAt(i);
            if (i != 10 && !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) {
                return false;
            }
        }
        return true;
    }
}
