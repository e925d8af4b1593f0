package dev.relay.server.receive;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/** The path and parameters of {@code MAIL FROM:} or {@code RCPT TO:}. */
record CommandPath(String address, List<String> params) {
    private static final Pattern SPACES = Pattern.compile("\\s+");

    /** The path and parameters of {@code commandString}, or null on a syntax error. */
    static CommandPath parse(String commandString, String verb, String prefix) {
        String rest = commandString.strip();
        if (rest.length() < verb.length() || !rest.substring(verb.length()).stripLeading().toUpperCase(Locale.ROOT)
                .startsWith(prefix)) {
            return null;
        }
        rest = rest.substring(verb.length()).stripLeading().substring(prefix.length()).stripLeading();
        String address;
        if (rest.startsWith("<")) {
            int close = rest.indexOf('>');
            if (close < 0) {
                return null;
            }
            address = rest.substring(1, close);
            rest = rest.substring(close + 1);
        } else {
            int space = rest.indexOf(' ');
            address = space < 0 ? rest : rest.substring(0, space);
            rest = space < 0 ? "" : rest.substring(space);
            if (address.isEmpty()) {
                return null;
            }
        }
        List<String> params = new ArrayList<>();
        for (String p : SPACES.split(rest.strip())) {
            if (!p.isEmpty()) {
                params.add(p);
            }
        }
        return new CommandPath(address, params);
    }
}
