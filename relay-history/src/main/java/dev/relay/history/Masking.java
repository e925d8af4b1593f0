package dev.relay.history;

/**
 * Addresses as the history stores them when {@code history.mask-addresses} is on: {@code jane@example.com} becomes
 * {@code j***@example.com} (the first character of the local part, then the domain), as the logs mask them.
 */
final class Masking {
    private Masking() {
    }

    /** {@code address} masked; "" (the null sender) and a string without {@code @} stay as they are. */
    static String mask(String address) {
        int at = address.lastIndexOf('@');
        if (at <= 0) {
            return address;
        }
        return address.charAt(0) + "***" + address.substring(at);
    }
}
