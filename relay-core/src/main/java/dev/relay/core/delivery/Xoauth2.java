package dev.relay.core.delivery;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** The SASL XOAUTH2 initial client response (Google and Microsoft): user, bearer token, two ^A separators. */
final class Xoauth2 {
    private Xoauth2() {
    }

    /** base64("user=" + user + "^Aauth=Bearer " + token + "^A^A"). */
    static String initialResponse(String user, String accessToken) {
        String sasl = "user=" + user + "\u0001auth=Bearer " + accessToken + "\u0001\u0001";
        return Base64.getEncoder().encodeToString(sasl.getBytes(StandardCharsets.UTF_8));
    }
}
