package dev.relay.core.delivery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OAuth2 access tokens for AUTH XOAUTH2, obtained by the relay itself: the client-credentials grant (Microsoft 365)
 * or the refresh-token grant (Google) against the configured token endpoint (RFC 6749 sections 4.4 and 6). A
 * token is cached until {@code expires_in} minus a margin (a quarter of its life, at most five minutes), so it is
 * refreshed before it expires; concurrent callers share one request. Never blocks: the HTTP exchange is
 * asynchronous. Tokens, client secrets and refresh tokens never appear in a log line or an error message.
 */
final class OAuth2TokenSource {
    private static final Logger LOG = LoggerFactory.getLogger(OAuth2TokenSource.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration MAX_MARGIN = Duration.ofMinutes(5);
    private static final long DEFAULT_LIFETIME = 3600;

    private final String upstream;
    private final UpstreamTarget.OAuth2 config;
    private final HttpClient http;
    private final InstantSource clock;
    private final Duration requestTimeout;
    private final AtomicLong fetches = new AtomicLong();
    private String token;
    private Instant refreshAt = Instant.MIN;
    private CompletableFuture<String> inFlight;

    OAuth2TokenSource(String upstream, UpstreamTarget.OAuth2 config, InstantSource clock, Duration timeout) {
        this.upstream = upstream;
        this.config = config;
        this.clock = clock;
        this.requestTimeout = timeout;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    /** A valid access token: the cached one, or a fresh one from the token endpoint. */
    synchronized CompletableFuture<String> token() {
        if (token != null && clock.instant().isBefore(refreshAt)) {
            return CompletableFuture.completedFuture(token);
        }
        if (inFlight == null) {
            CompletableFuture<String> fetch = fetch();
            inFlight = fetch;
            fetch.whenComplete((t, e) -> {
                synchronized (this) {
                    inFlight = null;
                }
            });
            return fetch;
        }
        return inFlight;
    }

    /** The upstream refused {@code refused}: the next caller gets a fresh one. */
    synchronized void invalidate(String refused) {
        if (refused != null && refused.equals(token)) {
            token = null;
        }
    }

    /** Requests made to the token endpoint so far. */
    long fetches() {
        return fetches.get();
    }

    private CompletableFuture<String> fetch() {
        fetches.incrementAndGet();
        Map<String, String> form = new LinkedHashMap<>();
        if (config.refreshTokenGrant()) {
            form.put("grant_type", "refresh_token");
            form.put("refresh_token", config.refreshToken());
        } else {
            form.put("grant_type", "client_credentials");
        }
        form.put("client_id", config.clientId());
        if (config.clientSecret() != null) {
            form.put("client_secret", config.clientSecret());
        }
        if (config.scope() != null) {
            form.put("scope", config.scope());
        }
        String body = form.entrySet().stream()
                .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                        + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
        HttpRequest request = HttpRequest.newBuilder(config.tokenUrl())
                .timeout(requestTimeout)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
                .build();
        Instant asked = clock.instant();
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8))
                .thenApply(response -> accept(response, asked));
    }

    private String accept(HttpResponse<String> response, Instant asked) {
        JsonNode json;
        try {
            json = JSON.readTree(response.body());
        } catch (Exception e) {
            json = null;
        }
        if (response.statusCode() != 200 || json == null || !json.path("access_token").isTextual()) {
            String error = json == null ? "" : (json.path("error").asText("") + " "
                    + json.path("error_description").asText("")).trim();
            if (error.length() > 200) {
                error = error.substring(0, 200) + "...";
            }
            String detail = "token endpoint " + config.tokenUrl().getHost() + " answered HTTP "
                    + response.statusCode() + (error.isEmpty() ? " without an access token" : ": " + error);
            LOG.info("-: upstream {}: {}", upstream, detail);
            throw new IllegalStateException(detail);
        }
        String accessToken = json.path("access_token").asText();
        long lifetime = json.path("expires_in").asLong(DEFAULT_LIFETIME);
        Duration life = Duration.ofSeconds(Math.max(1, lifetime));
        Duration margin = life.dividedBy(4).compareTo(MAX_MARGIN) > 0 ? MAX_MARGIN : life.dividedBy(4);
        synchronized (this) {
            token = accessToken;
            refreshAt = asked.plus(life).minus(margin);
        }
        LOG.debug("-: upstream {}: OAuth2 access token obtained, valid for {}s", upstream, lifetime);
        return accessToken;
    }
}
