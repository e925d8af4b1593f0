package dev.relay.core.delivery;

import dev.relay.core.spool.Body;
import dev.relay.testkit.TestUpstream;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.relay.config.TlsMode;
import dev.relay.config.UpstreamAuth;
import dev.relay.core.delivery.Outcome.Delivered;
import dev.relay.core.delivery.Outcome.TransientFailure;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** AUTH XOAUTH2 with tokens from a fake OAuth2 token endpoint, on a fake clock. */
class Xoauth2DeliveryTest {
    private static final String USER = "relay@example.org";
    private static final String SECRET = "cl1ent-Secret";
    private static final UpstreamTarget.Timeouts FAST = new UpstreamTarget.Timeouts(Duration.ofSeconds(2),
            Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(2));

    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-11-23T10:00:00Z"));
    private final InstantSource clock = () -> now.get();
    private final List<String> tokenRequests = new CopyOnWriteArrayList<>();
    private final AtomicInteger issued = new AtomicInteger();
    private final Set<String> validTokens = new CopyOnWriteArraySet<>();
    private volatile int tokenStatus = 200;
    private EventLoopGroup group;
    private HttpServer tokenEndpoint;

    @TempDir
    Path dir;

    @BeforeEach
    void setUp() throws Exception {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        tokenEndpoint = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        tokenEndpoint.createContext("/oauth2/token", exchange -> {
            tokenRequests.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            String body;
            if (tokenStatus == 200) {
                String token = "tok-" + issued.incrementAndGet();
                validTokens.add(token);
                body = "{\"token_type\":\"Bearer\",\"expires_in\":3600,\"access_token\":\"" + token + "\"}";
            } else {
                body = "{\"error\":\"invalid_client\",\"error_description\":\"bad client\"}";
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(tokenStatus, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        tokenEndpoint.start();
    }

    @AfterEach
    void tearDown() {
        tokenEndpoint.stop(0);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    @Test
    void tokenIsFetchedOnceForSeveralConnectionsAndRefreshedAfterExpiry() throws Exception {
        try (TestUpstream sink = TestUpstream.plain().pipelining(true).authMechanisms("LOGIN")
                .xoauth2(validTokens::contains);
             NettyDeliveryEngine engine = engine(sink.port(), clientCredentials())) {
            for (int i = 0; i < 3; i++) { // one message per connection: three AUTHs
                assertThat(deliver(engine)).isInstanceOf(Delivered.class);
            }
            assertThat(sink.connections()).isEqualTo(3);
            assertThat(engine.tokenFetches()).isEqualTo(1);
            assertThat(sink.xoauth2Responses()).hasSize(3)
                    .allMatch(r -> r.equals("user=" + USER + "\u0001auth=Bearer tok-1\u0001\u0001"));
            assertThat(tokenRequests).singleElement().satisfies(form -> assertThat(form)
                    .contains("grant_type=client_credentials", "client_id=app-id",
                            "scope=https%3A%2F%2Foutlook.office365.com%2F.default"));

            now.set(now.get().plus(Duration.ofMinutes(56))); // within the refresh margin of the 60-minute token

            assertThat(deliver(engine)).isInstanceOf(Delivered.class);
            assertThat(engine.tokenFetches()).isEqualTo(2);
            assertThat(sink.xoauth2Responses()).last().asString().contains("auth=Bearer tok-2");
        }
    }

    @Test
    void refreshTokenGrantSendsTheRefreshToken() throws Exception {
        UpstreamTarget.OAuth2 google = new UpstreamTarget.OAuth2(tokenUrl(), "cid", SECRET, null, "r3fresh");
        try (TestUpstream sink = TestUpstream.plain().authMechanisms("LOGIN").xoauth2(validTokens::contains);
             NettyDeliveryEngine engine = engine(sink.port(), google)) {
            assertThat(deliver(engine)).isInstanceOf(Delivered.class);
            assertThat(tokenRequests).singleElement().satisfies(form -> assertThat(form)
                    .contains("grant_type=refresh_token", "refresh_token=r3fresh", "client_id=cid"));
        }
    }

    @Test
    void refusedTokenIsTransientAndTheNextMessageFetchesANewOne() throws Exception {
        try (TestUpstream sink = TestUpstream.plain().pipelining(true).authMechanisms("LOGIN")
                .xoauth2(validTokens::contains);
             NettyDeliveryEngine engine = engine(sink.port(), clientCredentials())) {
            assertThat(deliver(engine)).isInstanceOf(Delivered.class);
            validTokens.clear(); // revoked at the provider

            Outcome refused = deliver(engine);
            assertThat(refused).isInstanceOf(TransientFailure.class);
            assertThat(refused.detail()).contains("535 5.7.3 token refused").doesNotContain("tok-1");

            assertThat(deliver(engine)).isInstanceOf(Delivered.class);
            assertThat(engine.tokenFetches()).isEqualTo(2);
        }
    }

    @Test
    void tokenEndpointErrorIsTransientAndNeverShowsTheSecret() throws Exception {
        tokenStatus = 401;
        try (TestUpstream sink = TestUpstream.plain().pipelining(true).authMechanisms("LOGIN")
                .xoauth2(validTokens::contains);
             NettyDeliveryEngine engine = engine(sink.port(), clientCredentials())) {
            Outcome outcome = deliver(engine);

            assertThat(outcome).isInstanceOf(TransientFailure.class);
            assertThat(outcome.detail()).contains("OAuth2", "HTTP 401", "invalid_client").doesNotContain(SECRET);
            assertThat(sink.xoauth2Responses()).isEmpty();
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private URI tokenUrl() {
        return URI.create("http://127.0.0.1:" + tokenEndpoint.getAddress().getPort() + "/oauth2/token");
    }

    private UpstreamTarget.OAuth2 clientCredentials() {
        return new UpstreamTarget.OAuth2(tokenUrl(), "app-id", SECRET, "https://outlook.office365.com/.default",
                null);
    }

    private NettyDeliveryEngine engine(int port, UpstreamTarget.OAuth2 oauth2) {
        UpstreamTarget target = new UpstreamTarget("m365", "127.0.0.1", port, TlsMode.NONE, USER, null, null, FAST,
                new UpstreamTarget.Pool(2, 1, Duration.ofSeconds(30)), UpstreamTarget.Rate.UNLIMITED,
                UpstreamAuth.XOAUTH2, oauth2);
        return new NettyDeliveryEngine(target, group, "relay.test", DeliveryListener.NONE, clock,
                new Backpressure());
    }

    private Outcome deliver(NettyDeliveryEngine engine) throws Exception {
        Path body = Files.writeString(Files.createTempFile(dir, "m", ".eml"), "Subject: t\r\n\r\nhi\r\n");
        DeliveryReport report = engine.deliver(ConnectionPoolTest.envelope(
                dev.relay.core.model.MailAddress.of("bob@example.net")), Body.wholeFile(body))
                        .get(10, TimeUnit.SECONDS);
        return report.byRecipient().values().iterator().next();
    }
}
