package dev.relay.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;

/** The server side of AUTH PLAIN, LOGIN and XOAUTH2 for a served session. */
final class UpstreamAuthExchange {
    private UpstreamAuthExchange() {
    }

    static void run(UpstreamSession s, TestUpstream upstream, String line) throws IOException {
        String[] words = line.split(" ");
        String mechanism = words.length > 1 ? words[1].toUpperCase(Locale.ROOT) : "";
        String initial = words.length > 2 ? words[2] : null;
        switch (mechanism) {
            case "XOAUTH2" -> {
                if (upstream.xoauth2 == null) {
                    s.reply("504 5.5.4 Unrecognized authentication type");
                    return;
                }
                String decoded = UpstreamSession.decode(initial != null ? initial : prompt(s, "334 "));
                upstream.xoauth2Responses.add(decoded);
                String token = decoded.replaceAll("(?s).*auth=Bearer ([^\u0001]*)\u0001.*", "$1");
                if (upstream.xoauth2.test(token)) {
                    s.reply("235 2.7.0 accepted");
                } else { // RFC 7628's error challenge, then the client's empty response, then the failure
                    prompt(s, "334 " + Base64.getEncoder().encodeToString(
                            "{\"status\":\"401\",\"schemes\":\"bearer\"}".getBytes(StandardCharsets.UTF_8)));
                    s.reply("535 5.7.3 token refused");
                }
            }
            case "LOGIN" -> {
                String user = UpstreamSession.decode(initial != null ? initial : prompt(s, "334 VXNlcm5hbWU6"));
                String password = UpstreamSession.decode(prompt(s, "334 UGFzc3dvcmQ6"));
                verdict(s, upstream, user, password);
            }
            case "PLAIN" -> {
                String[] parts = UpstreamSession.decode(initial != null ? initial : prompt(s, "334 ")).split("\0", -1);
                verdict(s, upstream, parts.length > 1 ? parts[1] : "", parts.length > 2 ? parts[2] : "");
            }
            default -> s.reply("504 5.5.4 Unrecognized authentication type");
        }
    }

    private static String prompt(UpstreamSession s, String challenge) throws IOException {
        s.reply(challenge);
        String response = s.read();
        if (response == null) {
            throw new IOException("the client closed the connection during AUTH");
        }
        return response;
    }

    private static void verdict(UpstreamSession s, TestUpstream upstream, String user, String password)
            throws IOException {
        if (upstream.credentials == null) {
            s.reply(s.auth);
        } else if (upstream.credentials.test(user, password)) {
            s.reply("235 2.7.0 Authentication successful");
        } else {
            s.reply("535 5.7.8 Authentication credentials invalid");
        }
    }
}
