package dev.relay.server.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.relay.core.handoff.Handoff;
import dev.relay.server.admin.action.HandoffRequest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The JSON of {@code POST /api/queue/handoff}: the request (an object with the optional fields {@code to},
 * {@code user}, {@code password} and {@code timeout}; an empty body takes the configured {@code handoff.*}) and the
 * answer (the counts).
 */
final class HandoffJson {
    private static final Set<String> FIELDS = Set.of("to", "user", "password", "timeout");
    /** A request body larger than this is refused: the fields are a URL, a user, a password and a duration. */
    private static final int MAX_BODY = 16 * 1024;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private HandoffJson() {
    }

    /** The request in {@code body}; an IllegalArgumentException names what is wrong and how to fix it. */
    static HandoffRequest request(InputStream body) throws IOException {
        byte[] bytes = body.readNBytes(MAX_BODY + 1);
        if (bytes.length > MAX_BODY) {
            throw new IllegalArgumentException("the request body is over " + MAX_BODY + " bytes: send only to, user, "
                    + "password and timeout");
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        if (text.isBlank()) {
            return HandoffRequest.CONFIGURED;
        }
        JsonNode json;
        try {
            json = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the request body is not JSON: send an object such as "
                    + "{\"to\": \"smtps://peer:2465\"}, or nothing for the configured handoff.*");
        }
        if (!json.isObject()) {
            throw new IllegalArgumentException("the request body must be a JSON object with to, user, password "
                    + "or timeout");
        }
        for (Iterator<String> names = json.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name) || !json.get(name).isTextual()) {
                throw new IllegalArgumentException("'" + name + "' is not a field of a hand-off request: give to, "
                        + "user, password or timeout, each a string");
            }
        }
        String timeout = text(json, "timeout");
        return new HandoffRequest(text(json, "to"), text(json, "user"), text(json, "password"), null,
                timeout == null ? null : duration(timeout));
    }

    private static Duration duration(String s) {
        try {
            return dev.relay.config.Durations.parse(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("timeout '" + s + "' is not a duration: write e.g. 30s, 2m");
        }
    }

    private static String text(JsonNode json, String field) {
        JsonNode v = json.get(field);
        return v == null ? null : v.asText();
    }

    /** The counts of a hand-off, with a sentence. */
    static Map<String, Object> answer(Handoff.Summary s) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("handed_off", s.handedOff());
        o.put("refused", s.refused());
        o.put("hop_limit", s.hopLimit());
        o.put("unfinished", s.unfinished());
        o.put("kept", s.kept());
        o.put("message", s.toString());
        return o;
    }
}
