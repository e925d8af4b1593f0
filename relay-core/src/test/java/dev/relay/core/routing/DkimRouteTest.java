package dev.relay.core.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.relay.config.AddressRewrite;
import dev.relay.config.DkimConfig;
import dev.relay.config.DkimConfig.Algorithm;
import dev.relay.config.RouteConfig;
import dev.relay.config.TlsMode;
import dev.relay.core.delivery.DeliveryEngine;
import dev.relay.core.delivery.DeliveryReport;
import dev.relay.core.delivery.NettyDeliveryEngine;
import dev.relay.core.delivery.Outcome;
import dev.relay.core.delivery.UpstreamTarget;
import dev.relay.core.dkim.DkimKey;
import dev.relay.core.dkim.Dkimpy;
import dev.relay.testkit.DkimVerifier;
import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import dev.relay.core.spool.Body;
import dev.relay.testkit.TestUpstream;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue #21 end to end: a route with DKIM delivers through the Netty client to a {@link TestUpstream}, and what
 * the upstream received verifies with dkimpy, for both algorithms, after a From rewrite, and for an 8-bit message
 * (converted to 7 bit before it is signed, whatever the upstream offers). The spooled original never changes.
 */
class DkimRouteTest {
    private static final UpstreamTarget.Timeouts FAST = new UpstreamTarget.Timeouts(Duration.ofSeconds(5),
            Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(5));
    private static final String MESSAGE = "From: \"Alice Example\" <alice@example.org>\r\nTo: bob@example.net\r\n"
            + "Subject: quarterly report\r\nDate: Fri, 04 Dec 2026 12:00:00 +0000\r\n"
            + "Message-ID: <r1@example.org>\r\n\r\nHello Bob,\r\n.a line with a leading dot\r\n\r\nAlice\r\n";

    @TempDir
    Path dir;

    private Path key(String algorithm) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
        if (algorithm.equals("RSA")) {
            g.initialize(2048);
        }
        Path file = Files.createTempFile(dir, "dkim", ".pem");
        Files.writeString(file, "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder().encodeToString(g.generateKeyPair().getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        return file;
    }

    private record Sent(DeliveryReport report, List<TestUpstream.Mail> mails, byte[] originalAfter) {
    }

    /** Delivers {@code content} as a spooled message through a route signing with {@code dkim}. */
    private Sent deliver(String content, DkimConfig dkim, AddressRewrite from, boolean eightBitMime)
            throws Exception {
        byte[] original = content.getBytes(StandardCharsets.UTF_8);
        Path spooled = Files.write(dir.resolve("spooled"), original);
        Path work = Files.createDirectories(dir.resolve("work"));
        RouteConfig route = new RouteConfig("signed", List.of("*"), List.of(), List.of("up"), null, from, false,
                List.of(), dkim);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (TestUpstream upstream = TestUpstream.plain().eightBitMime(eightBitMime)) {
            DeliveryEngine netty = new NettyDeliveryEngine(new UpstreamTarget("up", "127.0.0.1", upstream.port(),
                    TlsMode.NONE, null, null, null, FAST), group, "relay.test");
            try (RoutingEngine engine = new RoutingEngine(RouteTable.of(List.of(route), List.of("up"),
                    InstantSource.system()), Map.of("up", netty), CircuitBreaker.Policy.DEFAULT,
                    InstantSource.system(), work, CircuitListener.NONE)) {
                Envelope envelope = Envelope.received(QueueId.next(Instant.now()), MailAddress.of("alice@example.org"),
                        List.of(MailAddress.of("bob@example.net")), Instant.now(), "app");
                DeliveryReport report = engine.deliver(envelope, Body.of(spooled, original.length))
                        .get(30, TimeUnit.SECONDS);
                try (var left = Files.list(work)) {
                    assertThat(left).as("outbound copies removed").isEmpty();
                }
                return new Sent(report, upstream.mails(), Files.readAllBytes(spooled));
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    private static void assertVerifies(Sent sent, byte[] original, DkimConfig dkim) throws Exception {
        assertThat(sent.report().byRecipient().values()).allSatisfy(o -> assertThat(o).isInstanceOf(
                Outcome.Delivered.class));
        assertThat(sent.originalAfter()).as("the spooled original is unchanged").isEqualTo(original);
        assertThat(sent.mails()).hasSize(1);
        String data = sent.mails().get(0).data();
        assertThat(data).startsWith("DKIM-Signature: v=1; a=" + dkim.algorithm().key());
        String record = DkimKey.load(dkim.keyFile(), dkim.algorithm()).dnsRecord();
        DkimVerifier.Verdict verdict = Dkimpy.verify(data.getBytes(StandardCharsets.UTF_8), record);
        assertThat(verdict.pass()).as(verdict.log()).isTrue();
        assertThat(verdict.asked()).isEqualTo(dkim.selector() + "._domainkey." + dkim.domain() + ".");
    }

    /** A DKIM setting with a new key of {@code algorithm}. */
    private DkimConfig dkim(String algorithm, String domain, String selector) throws Exception {
        Algorithm a = Algorithm.parse(algorithm);
        return new DkimConfig(domain, selector, key(a == Algorithm.RSA_SHA256 ? "RSA" : "Ed25519"), a, List.of());
    }

    @ParameterizedTest
    @ValueSource(strings = {"rsa-sha256", "ed25519-sha256"})
    void theReceivedMessageVerifies(String algorithm) throws Exception {
        DkimConfig dkim = dkim(algorithm, "example.org", "relay2026");
        Sent sent = deliver(MESSAGE, dkim, null, true);
        assertVerifies(sent, MESSAGE.getBytes(StandardCharsets.UTF_8), dkim);
        assertThat(sent.mails().get(0).data()).endsWith(MESSAGE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"rsa-sha256", "ed25519-sha256"})
    void aRewrittenFromIsWhatIsSigned(String algorithm) throws Exception {
        DkimConfig dkim = dkim(algorithm, "verified.example.com", "s1");
        Sent sent = deliver(MESSAGE, dkim, AddressRewrite.parse("@verified.example.com"), true);
        assertVerifies(sent, MESSAGE.getBytes(StandardCharsets.UTF_8), dkim);
        assertThat(sent.mails().get(0).data()).contains("\r\nFrom: \"Alice Example\" <alice@verified.example.com>\r\n")
                .doesNotContain("alice@example.org");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void anEightBitMessageIsConvertedThenSignedForAnyUpstream(boolean eightBitMime) throws Exception {
        String content = "From: alice@example.org\r\nTo: bob@example.net\r\nSubject: Gruesse\r\n\r\n"
                + "Gr\u00fc\u00dfe aus K\u00f6ln \u20ac\r\n.dot\r\n";
        DkimConfig dkim = dkim("ed25519-sha256", "example.org", "s1");
        Sent sent = deliver(content, dkim, null, eightBitMime);
        assertVerifies(sent, content.getBytes(StandardCharsets.UTF_8), dkim);
        String data = sent.mails().get(0).data();
        assertThat(data.chars().allMatch(c -> c < 128)).as("7-bit, signed as sent").isTrue();
        assertThat(data).contains("Content-Transfer-Encoding: quoted-printable");
        assertThat(sent.mails().get(0).mailLine()).doesNotContain("BODY=8BITMIME");
    }

    @Test
    void aMessageThatCannotBeSignedIsDeferredAndNotSent() throws Exception {
        DkimConfig dkim = dkim("ed25519-sha256", "example.org", "s1");
        String content = "Subject: x\r\n" + " y\r\n".repeat(70_000) + "\r\nbody\r\n"; // a signed field > 256 KiB
        Sent sent = deliver(content, dkim, null, true);
        assertThat(sent.mails()).isEmpty();
        Outcome outcome = sent.report().byRecipient().get(MailAddress.of("bob@example.net"));
        assertThat(outcome).isInstanceOf(Outcome.TransientFailure.class);
        assertThat(outcome.detail()).startsWith("DKIM signing for route signed failed: ")
                .contains("longer than 256 KiB");
    }

    @Test
    void aKeyThatCannotBeReadStopsTheRoutesNamingTheKey() {
        RouteConfig route = new RouteConfig("signed", List.of("*"), List.of(), List.of("up"), null, null, false,
                List.of(), new DkimConfig("example.org", "s1", dir.resolve("missing.pem"), null, List.of()));
        assertThatThrownBy(() -> RouteTable.of(List.of(route), List.of("up")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("routes[0].dkim.key-file: the key file ")
                .hasMessageContaining("missing.pem does not exist");
    }
}
