package dev.relay.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * The admin endpoint's options and GET requests, for {@code relay history} and {@code relay trace} (a picocli
 * mixin): the same {@code --admin}, {@code --token-file} and {@code RELAY_ADMIN_TOKEN} as {@code relay queue}.
 */
final class AdminClient {
    /** Made at first use: Jackson's set-up is for these commands alone. */
    static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    @Option(names = "--admin", paramLabel = "URL", defaultValue = "http://127.0.0.1:9090",
            description = "The relay's admin endpoint (default: ${DEFAULT-VALUE}).")
    String admin;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "A file holding the bearer token (admin.token); else $RELAY_ADMIN_TOKEN is used.")
    Path tokenFile;

    /** The answer of a GET, or null after printing why there is none. */
    record Answer(int status, JsonNode body) {}

    Answer get(String command, String path, PrintWriter err) {
        try {
            String base = admin.endsWith("/") ? admin.substring(0, admin.length() - 1) : admin;
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30)).GET();
            String token = tokenFile != null ? Files.readString(tokenFile, StandardCharsets.UTF_8).strip()
                    : System.getenv("RELAY_ADMIN_TOKEN");
            if (token != null && !token.isEmpty()) {
                b.header("Authorization", "Bearer " + token);
            }
            HttpResponse<String> r;
            try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
                r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            }
            JsonNode body = r.body().isEmpty() ? Json.MAPPER.createObjectNode() : Json.MAPPER.readTree(r.body());
            if (r.statusCode() != 200) {
                err.println(command + ": " + (body.has("error") ? body.get("error").asText() : "HTTP " + r.statusCode()));
                err.flush();
            }
            return new Answer(r.statusCode(), body);
        } catch (ConnectException e) {
            err.println(command + ": cannot connect to " + admin + ": is the relay running? (--admin URL)");
        } catch (IOException | IllegalArgumentException e) {
            err.println(command + ": " + admin + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        err.flush();
        return null;
    }

    /** The exit status for an answer: 0 found, 1 not found, 2 could not ask or was refused. */
    static int exit(Answer a) {
        return a == null ? 2 : a.status() == 200 ? 0 : a.status() == 404 ? 1 : 2;
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
