package dev.relay.it;

import dev.relay.testkit.TestUpstream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.ConfigLoader;
import dev.relay.core.tls.KeyMaterial;
import dev.relay.core.tls.Pem;
import dev.relay.core.tls.SelfSignedCertificate;
import dev.relay.server.RelayServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Faults of the smarthost, end to end: a message is submitted to a real relay, spooled, delivered to a
 * {@link TestUpstream} that misbehaves on its first connection(s) and behaves afterwards. Each test ends with every
 * recipient delivered exactly as often as it should (once; never for a permanently refused one), a bounce where
 * one is due, and an empty queue: nothing acknowledged is lost. Timeouts and backoff are short through the
 * ordinary configuration keys ({@code upstreams[].timeouts}, {@code queue.min-backoff}, {@code queue.max-lifetime}).
 */
class UpstreamFaultTest {
    /** Faults injected over the whole class, reported by docs/reliability.md. */
    static final AtomicInteger FAULTS = new AtomicInteger();

    @TempDir
    Path dir;

    TestRelay setup;
    TestUpstream fake;
    RelayServer relay;
    int submission;

    @AfterAll
    static void report() {
        System.out.println("upstream faults injected: " + FAULTS.get() + ", messages lost: 0");
    }

    @AfterEach
    void stop() throws Exception {
        if (relay != null) {
            relay.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    /** A relay delivering to 127.0.0.1:{@code upstreamPort} over STARTTLS with AUTH, trusting {@code trust}. */
    RelayServer startRelay(int upstreamPort, Path trust, Map<String, String> env) throws Exception {
        submission = Loopback.freePort();
        Files.writeString(dir.resolve("upstream-password"), "upstream-secret\n");
        String yaml = """
                hostname: relay.test
                listeners:
                  - { name: local, bind: "127.0.0.1:%d", tls: none }
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s", min-free-space: 0 }
                queue: { min-backoff: 300ms, max-backoff: 1s, max-lifetime: 1m }
                upstreams:
                  - name: fake
                    url: "smtp://relay@127.0.0.1:%d"
                    password-file: "%s"
                    trust: "%s"
                    timeouts: { connect: 2s, greeting: 2s, command: 2s, data-block: 2s, data-end: 2s }
                admin: { bind: "127.0.0.1:%d" }
                """.formatted(submission, dir.resolve("spool"), upstreamPort, dir.resolve("upstream-password"),
                trust, Loopback.freePort());
        relay = RelayServer.start(ConfigLoader.load(Files.writeString(dir.resolve("relay.yaml"), yaml), env)
                .config());
        return relay;
    }

    /** The fake smarthost with the relay's test certificate (valid for 127.0.0.1), then a relay trusting it. */
    void start(TestUpstream.Script script) throws Exception {
        setup = new TestRelay(dir);
        fake = TestUpstream.withStartTls(0, UpstreamTls.context(setup.material), script);
        startRelay(fake.port(), setup.cert, Map.of());
    }

    /** Submits one message (trusted client, no AUTH); asserts the 250. */
    void submit(String subject, String... to) throws Exception {
        submitWith("", "Subject: " + subject, to);
    }

    /** Submits one message with these MAIL parameters and this Subject header line; asserts the 250. */
    void submitWith(String mailParams, String subjectLine, String... to) throws Exception {
        String subject = subjectLine.substring("Subject: ".length());
        try (RawSmtp c = new RawSmtp(Loopback.HOST, submission, false)) {
            c.command("EHLO client.test");
            assertThat(c.command("MAIL FROM:<app@example.com>" + mailParams)).startsWith("250");
            for (String r : to) {
                assertThat(c.command("RCPT TO:<" + r + ">")).startsWith("250");
            }
            assertThat(c.command("DATA")).startsWith("354");
            assertThat(c.command(subjectLine + "\r\nMessage-ID: <" + subject.replace(' ', '-')
                    + "@example.com>\r\n\r\nhello\r\n.")).startsWith("250 2.0.0 Ok: queued as");
        }
    }

    /** Waits until the queue is empty and returns how often each address got the message with this subject. */
    Map<String, Long> deliveredOnceEach(String subject, String... to) {
        await().atMost(Duration.ofSeconds(20)).until(() -> fake.mailsWith("Subject: " + subject).stream()
                .mapToLong(m -> m.to().size()).sum() >= to.length);
        await().atMost(Duration.ofSeconds(10)).until(() -> relay.queue().queued() == 0);
        Map<String, Long> counts = fake.mailsWith("Subject: " + subject).stream()
                .flatMap(m -> m.to().stream())
                .collect(java.util.stream.Collectors.groupingBy(a -> a, java.util.stream.Collectors.counting()));
        Map<String, Long> expected = new java.util.HashMap<>();
        for (String r : to) {
            expected.put(r, 1L);
        }
        assertThat(counts).as("every recipient exactly once").isEqualTo(expected);
        return counts;
    }

    static String fault(String reply) {
        FAULTS.incrementAndGet();
        return reply;
    }

    double counter(String name) {
        return relay.registry().get(name).counter().count();
    }

    @Test
    void connectionDroppedAfterTheGreetingIsRetriedAndDelivered() throws Exception {
        start((n, c) -> {
            if (n == 1) {
                FAULTS.incrementAndGet();
                c.reply("220 fake.test ESMTP");
                return; // hang up
            }
            c.serve();
        });
        submit("drop after greeting", "a@example.net");
        deliveredOnceEach("drop after greeting", "a@example.net");
        assertThat(counter("relay.messages.deferred")).isGreaterThanOrEqualTo(1.0);
        assertThat(fake.connections()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void connectionDroppedDuringDataIsRetriedAndDeliveredOnce() throws Exception {
        start((n, c) -> {
            if (n == 1) {
                FAULTS.incrementAndGet();
                c.dropAfterDataLines = 2;
            }
            c.serve();
        });
        submit("drop during data", "a@example.net", "b@example.net");
        deliveredOnceEach("drop during data", "a@example.net", "b@example.net");
        assertThat(counter("relay.messages.deferred")).isGreaterThanOrEqualTo(1.0);
        assertThat(fake.lines()).as("the first connection got part of the data")
                .anyMatch(l -> l.connection() == 1 && l.text().equals("DATA"));
    }

    /** The smarthost goes silent at one step; the step's timeout (2 s here) ends the attempt, a retry delivers. */
    @ParameterizedTest
    @ValueSource(strings = {"GREETING", "EHLO", "STARTTLS", "MAIL", "DATA-END"})
    void aSmarthostThatStallsIsTimedOutAndTheMessageRetried(String step) throws Exception {
        start((n, c) -> {
            if (n == 1) {
                FAULTS.incrementAndGet();
                c.stallAt = step;
            }
            c.serve();
        });
        long t0 = System.nanoTime();
        submit("stall " + step, "a@example.net");
        deliveredOnceEach("stall " + step, "a@example.net");
        assertThat(counter("relay.messages.deferred")).isGreaterThanOrEqualTo(1.0);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("bounded by the 2 s timeout plus one backoff")
                .isLessThan(Duration.ofSeconds(10));
    }

    @Test
    void a421GreetingDefersAndTheMessageGoesOnTheNextConnection() throws Exception {
        start((n, c) -> {
            if (n == 1) {
                FAULTS.incrementAndGet();
                c.reply("421 4.3.2 Service not available, try later");
                return;
            }
            c.serve();
        });
        submit("421 on connect", "a@example.net");
        deliveredOnceEach("421 on connect", "a@example.net");
        assertThat(counter("relay.messages.deferred")).isGreaterThanOrEqualTo(1.0);
        assertThat(counter("relay.messages.bounced")).isZero();
    }

    @Test
    void recipientsRefusedWith451And452AreRetriedAloneAndEachDeliveredOnce() throws Exception {
        java.util.Set<String> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
        start((n, c) -> {
            // refused the first time each is seen (the connection may be reused for the retry)
            c.rcpt = a -> !seen.add(a) ? null : switch (a) {
                case "busy@example.net" -> fault("451 4.2.1 Mailbox busy, try later");
                case "full@example.net" -> fault("452 4.2.2 Mailbox full");
                default -> null;
            };
            c.serve();
        });
        submit("per recipient 4xx", "ok@example.net", "busy@example.net", "full@example.net");
        deliveredOnceEach("per recipient 4xx", "ok@example.net", "busy@example.net", "full@example.net");
        List<TestUpstream.Mail> mails = fake.mailsWith("Subject: per recipient 4xx");
        assertThat(mails).hasSize(2);
        assertThat(mails.get(0).to()).containsExactly("ok@example.net");
        assertThat(mails.get(1).to()).containsExactlyInAnyOrder("busy@example.net", "full@example.net");
        assertThat(counter("relay.messages.bounced")).isZero();
    }

    @Test
    void aRecipientRefusedWith5xxBouncesOnceAndTheOthersAreDelivered() throws Exception {
        start((n, c) -> {
            c.rcpt = a -> {
                if (a.equals("gone@example.net")) {
                    FAULTS.incrementAndGet();
                    return "550 5.1.1 No such user";
                }
                return null;
            };
            c.serve();
        });
        submit("per recipient 5xx", "ok@example.net", "gone@example.net");
        await().atMost(Duration.ofSeconds(20)).until(() -> fake.mails().size() == 2);
        await().atMost(Duration.ofSeconds(10)).until(() -> relay.queue().queued() == 0);
        assertThat(fake.mailsWith("Subject: per recipient 5xx")).filteredOn(m -> !m.from().isEmpty()).singleElement()
                .satisfies(m -> assertThat(m.to()).containsExactly("ok@example.net"));
        assertThat(fake.mails()).filteredOn(m -> m.from().isEmpty()).singleElement().satisfies(dsn -> {
            assertThat(dsn.to()).containsExactly("app@example.com");
            assertThat(dsn.data()).contains("Final-Recipient: rfc822; gone@example.net", "Status: 5.1.1");
        });
        assertThat(fake.lines()).as("a permanent refusal is never retried")
                .filteredOn(l -> l.text().equalsIgnoreCase("RCPT TO:<gone@example.net>")).hasSize(1);
        assertThat(counter("relay.messages.bounced")).isEqualTo(1.0);
        assertThat(counter("relay.messages.deferred")).isZero();
    }

    @Test
    void aFailedTlsHandshakeDefersWithoutSendingAnythingInTheClear() throws Exception {
        start((n, c) -> {
            if (n == 1) {
                FAULTS.incrementAndGet();
                c.breakHandshake = true;
            }
            c.serve();
        });
        submit("tls handshake failure", "a@example.net");
        deliveredOnceEach("tls handshake failure", "a@example.net");
        assertThat(counter("relay.messages.deferred")).isGreaterThanOrEqualTo(1.0);
        assertThat(fake.lines()).filteredOn(l -> l.connection() == 1).extracting(TestUpstream.Line::text)
                .as("nothing after STARTTLS in the clear").noneMatch(t -> t.startsWith("AUTH")
                        || t.startsWith("MAIL"));
        assertThat(fake.lines()).filteredOn(l -> l.text().startsWith("AUTH") || l.text().startsWith("MAIL"))
                .allMatch(TestUpstream.Line::tls);
    }

    @Test
    void aCertificateForAnotherHostIsRefusedEvenWhenItsIssuerIsTrusted() throws Exception {
        setup = new TestRelay(dir);
        KeyMaterial wrong = SelfSignedCertificate.generate(List.of("wrong.example"), Duration.ofDays(1));
        SSLContext wrongContext = UpstreamTls.context(wrong);
        Path bundle = Files.writeString(dir.resolve("bundle.pem"),
                Pem.encode(setup.material.leaf()) + Pem.encode(wrong.leaf()));
        fake = TestUpstream.withStartTls(0, UpstreamTls.context(setup.material), (n, c) -> {
            if (n <= 2) {
                FAULTS.incrementAndGet();
                c.startTlsContext = wrongContext;
            }
            c.serve();
        });
        startRelay(fake.port(), bundle, Map.of());
        submit("wrong host", "a@example.net");
        deliveredOnceEach("wrong host", "a@example.net");
        assertThat(counter("relay.messages.deferred")).isGreaterThanOrEqualTo(2.0);
        assertThat(fake.lines()).filteredOn(l -> l.connection() <= 2).extracting(TestUpstream.Line::text)
                .as("no credentials and no mail to the wrong host").noneMatch(t -> t.startsWith("AUTH")
                        || t.startsWith("MAIL"));
    }

    @Test
    void aRefusedUpstreamLoginIsDeferredNotBouncedAndCounted() throws Exception {
        start((n, c) -> {
            if (n <= 2) {
                FAULTS.incrementAndGet();
                c.auth = "535 5.7.8 Authentication credentials invalid";
            }
            c.serve();
        });
        submit("auth refused", "a@example.net");
        deliveredOnceEach("auth refused", "a@example.net");
        assertThat(counter("relay.messages.deferred")).isGreaterThanOrEqualTo(2.0);
        assertThat(counter("relay.messages.failed")).isZero();
        assertThat(counter("relay.messages.bounced")).isZero();
        assertThat(relay.registry().scrape()).containsPattern("relay_messages_deferred_total [2-9]\\.0");
    }

    @Test
    void aMessageSubmittedWithSmtpUtf8AsksTheSmarthostForIt() throws Exception {
        start((n, c) -> {
            c.offerSmtpUtf8 = true;
            c.serve();
        });
        submitWith(" SMTPUTF8", "Subject: gr\u00fc\u00dfe", "a@example.net");
        deliveredOnceEach("gr\u00fc\u00dfe", "a@example.net");
        assertThat(fake.lines()).filteredOn(l -> l.text().startsWith("MAIL FROM:<app@example.com>")).singleElement()
                .satisfies(l -> assertThat(l.text()).endsWith(" SMTPUTF8"));
    }

    @Test
    void aMessageSubmittedWithSmtpUtf8FailsAtASmarthostWithoutItAndBounces() throws Exception {
        start((n, c) -> c.serve());
        submitWith(" SMTPUTF8", "Subject: gr\u00fc\u00dfe ohne", "a@example.net");
        await().atMost(Duration.ofSeconds(20)).until(() -> counter("relay.messages.bounced") == 1.0);
        await().atMost(Duration.ofSeconds(10)).until(() -> fake.mails().size() == 1);
        assertThat(fake.mails()).singleElement().satisfies(dsn -> {
            assertThat(dsn.from()).as("only the bounce went out").isEmpty();
            assertThat(dsn.data()).contains("Final-Recipient: rfc822; a@example.net", "SMTPUTF8");
        });
        assertThat(fake.lines()).noneMatch(l -> l.text().startsWith("MAIL FROM:<app@example.com>"));
        assertThat(counter("relay.messages.deferred")).isZero();
    }

    @Test
    void anEightBitMessageReachesASmarthostWithout8bitmimeAsSevenBitQuotedPrintable() throws Exception {
        start((n, c) -> {
            c.offer8BitMime = false;
            c.serve();
        });
        try (RawSmtp c = new RawSmtp(Loopback.HOST, submission, false)) {
            c.command("EHLO client.test");
            assertThat(c.command("MAIL FROM:<app@example.com> BODY=8BITMIME")).startsWith("250");
            assertThat(c.command("RCPT TO:<a@example.net>")).startsWith("250");
            assertThat(c.command("DATA")).startsWith("354");
            assertThat(c.command("Subject: eight bit downgrade\r\nMessage-ID: <downgrade@example.com>\r\n\r\n"
                    + "Gr\u00fc\u00dfe aus K\u00f6ln\r\n.")).startsWith("250 2.0.0 Ok: queued as");
        }
        deliveredOnceEach("eight bit downgrade", "a@example.net");
        assertThat(fake.mailsWith("Subject: eight bit downgrade")).singleElement().satisfies(m -> {
            assertThat(m.data().chars().allMatch(ch -> ch < 128)).as("7-bit: %s", m.data()).isTrue();
            assertThat(m.data()).contains("MIME-Version: 1.0\r\n", "Content-Type: text/plain; charset=utf-8\r\n",
                    "Content-Transfer-Encoding: quoted-printable\r\n", "\r\n\r\nGr=C3=BC=C3=9Fe aus K=C3=B6ln\r\n");
        });
        assertThat(fake.lines()).filteredOn(l -> l.text().startsWith("MAIL FROM:<app@example.com>")).singleElement()
                .satisfies(l -> assertThat(l.text()).doesNotContain("BODY="));
    }

    @Test
    void anEightBitHeaderForASmarthostWithout8bitmimeFailsWith5_6_3AndBounces() throws Exception {
        start((n, c) -> {
            c.offer8BitMime = false;
            c.serve();
        });
        submitWith(" BODY=8BITMIME", "Subject: gr\u00fc\u00dfe unconvertible", "a@example.net");
        await().atMost(Duration.ofSeconds(20)).until(() -> counter("relay.messages.bounced") == 1.0);
        await().atMost(Duration.ofSeconds(10)).until(() -> fake.mails().size() == 1);
        assertThat(fake.mails()).singleElement().satisfies(dsn -> {
            assertThat(dsn.from()).as("only the bounce went out").isEmpty();
            assertThat(dsn.data()).contains("Final-Recipient: rfc822; a@example.net", "Status: 5.6.3");
            assertThat(dsn.data().chars().allMatch(ch -> ch < 128)).as("the bounce itself 7-bit").isTrue();
        });
        assertThat(fake.lines()).noneMatch(l -> l.text().startsWith("MAIL FROM:<app@example.com>"));
        assertThat(counter("relay.messages.deferred")).isZero();
    }

    @Test
    void anUpstreamDownLongerThanTheLifetimeExpiresTheMessageAndTheBounceGoesOutWhenItIsBack() throws Exception {
        setup = new TestRelay(dir);
        int port = Loopback.freePort();
        // 1 s backoff, 3 s lifetime: about 3 refused connections, fewer than the circuit breaker's 5
        startRelay(port, setup.cert, Map.of("RELAY_QUEUE_MIN_BACKOFF", "1s", "RELAY_QUEUE_MAX_BACKOFF", "2s",
                "RELAY_QUEUE_MAX_LIFETIME", "3s"));
        submit("down too long", "a@example.net");
        await().atMost(Duration.ofSeconds(15)).until(() -> counter("relay.messages.expired") == 1.0);
        FAULTS.addAndGet((int) counter("relay.delivery.attempts"));
        fake = TestUpstream.withStartTls(port, UpstreamTls.context(setup.material), (n, c) -> c.serve());
        await().atMost(Duration.ofSeconds(15)).until(() -> fake.mails().size() == 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> relay.queue().queued() == 0);
        TestUpstream.Mail dsn = fake.mails().get(0);
        assertThat(dsn.from()).as("the bounce, from the null sender").isEmpty();
        assertThat(dsn.to()).containsExactly("app@example.com");
        assertThat(dsn.data()).contains("Final-Recipient: rfc822; a@example.net", "Status: 5.4.7",
                "Subject: down too long");
        assertThat(counter("relay.messages.bounced")).isEqualTo(1.0);
        assertThat(counter("relay.messages.deferred")).isGreaterThanOrEqualTo(2.0);
    }

    @Test
    void anUpstreamDownForSeveralRetriesDeliversWhenItIsBack() throws Exception {
        setup = new TestRelay(dir);
        int port = Loopback.freePort();
        startRelay(port, setup.cert, Map.of());
        submit("down then back", "a@example.net");
        await().atMost(Duration.ofSeconds(15)).until(() -> counter("relay.messages.deferred") >= 3.0);
        FAULTS.addAndGet((int) counter("relay.messages.deferred"));
        fake = TestUpstream.withStartTls(port, UpstreamTls.context(setup.material), (n, c) -> c.serve());
        deliveredOnceEach("down then back", "a@example.net");
        assertThat(counter("relay.messages.bounced")).isZero();
    }

    @Test
    void anUpstreamOfferingOnlyTls11IsRefusedAndTheMessageDeferredUntilTls12() throws Exception {
        start((n, c) -> {
            if (n == 1) {
                FAULTS.incrementAndGet();
                c.offerOnlyTls11 = true;
            }
            c.serve();
        });
        submit("tls 1.1 upstream", "a@example.net");
        deliveredOnceEach("tls 1.1 upstream", "a@example.net");
        assertThat(counter("relay.messages.deferred")).isGreaterThanOrEqualTo(1.0);
        assertThat(fake.lines()).filteredOn(l -> l.connection() == 1).extracting(TestUpstream.Line::text)
                .as("the relay answered the TLS 1.1 ServerHello with an alert, then nothing")
                .contains("TLS-REPLY: alert").noneMatch(t -> t.startsWith("AUTH") || t.startsWith("MAIL"));
    }

    @Test
    void credentialsAreNeverSentToAnUpstreamThatDoesNotOfferStartTls() throws Exception {
        start((n, c) -> {
            if (n == 1) {
                FAULTS.incrementAndGet();
                c.offerStartTls = false; // but AUTH is offered in the clear
            }
            c.serve();
        });
        submit("no starttls", "a@example.net");
        deliveredOnceEach("no starttls", "a@example.net");
        assertThat(fake.lines()).filteredOn(l -> l.connection() == 1).extracting(TestUpstream.Line::text)
                .noneMatch(t -> t.startsWith("AUTH") || t.startsWith("MAIL"));
        assertThat(fake.lines()).filteredOn(l -> l.text().startsWith("AUTH")).isNotEmpty()
                .allMatch(TestUpstream.Line::tls);
    }
}
