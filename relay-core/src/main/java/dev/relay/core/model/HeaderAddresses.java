package dev.relay.core.model;

import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The addresses of an address header field ({@code From:}, {@code Sender:}), read with a real RFC 5322 parser
 * (Jakarta Mail's {@link InternetAddress#parseHeader(String, boolean)} in strict mode, then
 * {@link InternetAddress#validate()} of each): quoted strings, comments with {@code \} escapes and nesting, and
 * folding are read as a mail reader reads them, never by hand. Groups are refused: {@code From} and
 * {@code Sender} hold mailboxes only (RFC 5322 section 3.6.2).
 */
public final class HeaderAddresses {
    private HeaderAddresses() {
    }

    /** A field value that is not a valid mailbox or mailbox list; the message says why. */
    public static final class MalformedException extends Exception {
        public MalformedException(String message) {
            super(message);
        }
    }

    /**
     * The addresses of a mailbox-list (a {@code From:} value), in order and lower-cased.
     *
     * @throws MalformedException if it does not parse, holds a group, or holds no mailbox
     */
    public static List<String> mailboxList(String value) throws MalformedException {
        return parse(value).stream().map(a -> a.toLowerCase(Locale.ROOT)).toList();
    }

    /** As {@link #mailboxList(String)}, the addresses as written (a local part may be case-sensitive). */
    public static List<String> parse(String value) throws MalformedException {
        String unfolded = value.replace("\r", "").replace("\n", "");
        InternetAddress[] parsed;
        try {
            parsed = InternetAddress.parseHeader(unfolded, true);
        } catch (AddressException e) {
            throw new MalformedException(e.getMessage());
        }
        List<String> out = new ArrayList<>();
        for (InternetAddress a : parsed) {
            if (a.isGroup()) {
                throw new MalformedException("a group where mailboxes are expected");
            }
            try {
                a.validate();
            } catch (AddressException e) {
                throw new MalformedException(e.getMessage());
            }
            String address = a.getAddress();
            if (address.startsWith("@") || address.indexOf('@') < 0) {
                throw new MalformedException("not a mailbox: " + address);
            }
            out.add(address);
        }
        if (out.isEmpty()) {
            throw new MalformedException("no mailbox");
        }
        return List.copyOf(out);
    }

    /**
     * The address of a single mailbox (a {@code Sender:} value), lower-cased.
     *
     * @throws MalformedException if it does not parse or holds other than exactly one mailbox
     */
    public static String mailbox(String value) throws MalformedException {
        List<String> list = mailboxList(value);
        if (list.size() != 1) {
            throw new MalformedException(list.size() + " mailboxes where one is expected");
        }
        return list.get(0);
    }
}
