package dev.relay.core.delivery;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The service extensions an EHLO reply announces (RFC 5321 section 4.1.1.1): the first line is the server's
 * greeting, each further line one keyword with its parameters.
 *
 * @param maxSize the SIZE limit in bytes, 0 for "no limit announced", -1 when SIZE is not offered
 */
record EhloExtensions(boolean startTls, Set<String> authMechanisms, boolean pipelining, long maxSize,
                      boolean eightBitMime, boolean smtpUtf8) {
    static final EhloExtensions NONE = new EhloExtensions(false, Set.of(), false, -1, false, false);

    EhloExtensions {
        authMechanisms = Set.copyOf(authMechanisms);
    }

    static EhloExtensions parse(SmtpReply ehloReply) {
        boolean startTls = false;
        boolean pipelining = false;
        boolean eightBit = false;
        boolean utf8 = false;
        long size = -1;
        Set<String> auth = new LinkedHashSet<>();
        List<String> lines = ehloReply.lines();
        for (int i = 1; i < lines.size(); i++) {
            String[] words = lines.get(i).trim().toUpperCase(Locale.ROOT).split("[ =]+");
            if (words.length == 0 || words[0].isEmpty()) {
                continue;
            }
            switch (words[0]) {
                case "STARTTLS" -> startTls = true;
                case "PIPELINING" -> pipelining = true;
                case "8BITMIME" -> eightBit = true;
                case "SMTPUTF8" -> utf8 = true;
                case "AUTH" -> {
                    for (int w = 1; w < words.length; w++) {
                        auth.add(words[w]);
                    }
                }
                case "SIZE" -> size = parseSize(words);
                default -> { }
            }
        }
        return new EhloExtensions(startTls, auth, pipelining, size, eightBit, utf8);
    }

    private static long parseSize(String[] words) {
        if (words.length < 2) {
            return 0;
        }
        try {
            return Math.max(0, Long.parseLong(words[1]));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    boolean sizeExceeded(long bytes) {
        return maxSize > 0 && bytes > maxSize;
    }
}
