package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.relay.config.ConfigLoader;
import dev.relay.config.RelayConfig;
import dev.relay.core.queue.QueueAdmin;
import dev.relay.core.spool.QueueState;
import dev.relay.core.tls.KeyMaterial;
import dev.relay.core.tls.Pem;
import dev.relay.core.tls.SelfSignedCertificate;
import dev.relay.server.RelayServer;
import dev.relay.server.doctor.DoctorCommand;
import dev.relay.testkit.ProviderScripts;
import dev.relay.testkit.TestUpstream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/**
 * Each provider preset against an upstream that answers as that provider does ({@link ProviderScripts}: its
 * greeting, EHLO keywords and AUTH mechanisms, and one of its replies about the relay's account at the phase it
 * gives it), over STARTTLS on loopback, end to end through a running relay: the message is deferred, not bounced
 * (no DSN); the gauge {@code relay_upstream_account_problem{upstream,reason}} is 1 and {@code /readyz} names the
 * problem (with {@code readiness.require-upstream}); one log line has the fix (ERROR for an account problem, WARN
 * for a used-up quota, whose message then waits the quota's time); {@code relay doctor} against the same upstream
 * prints the preset's fix; and once the problem ends (an admin fixed the setting, or an operator retries once the
 * quota reopened) the message is delivered and the gauge is back to 0.
 */
class AccountProblemTest {
    private static final String SENDER = "app@example.com";

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            # preset | script row (ProviderScripts) | reason | a quota's least wait (min) | what doctor's fix says
            acs      | credentials        | authentication      | 0    | acs: the ACS user name is <ACS resource name>
            sendgrid | credentials        | authentication      | 0    | sendgrid: the password must be a SendGrid API
            sendgrid | unverified-sender  | sender_not_verified | 0    | the From address is not a verified Sender
            mailgun  | sandbox-domain     | domain_not_allowed  | 0    | sends only to Authorized Recipients
            ses      | unverified-sender  | sender_not_verified | 0    | ses: SES sends only from verified identities
            ses      | daily-quota        | daily_quota         | 60   | the account's 24-hour sending quota is used up
            m365     | smtp-auth-disabled | smtp_auth_disabled  | 0    | m365: SMTP AUTH is disabled for this tenant
            gmail    | daily-limit        | daily_limit         | 1440 | the account's daily sending limit is reached
            postmark | credentials        | authentication      | 0    | postmark: Postmark's user name and password
            """)
    void anAccountReplyDefersAlertsIsExplainedByDoctorAndClearsWhenItEnds(String preset, String row, String reason,
                                                                         long quotaMinutes, String doctorFix)
            throws Exception {
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        Logger pool = (Logger) LoggerFactory.getLogger("dev.relay.core.delivery.ConnectionPool");
        pool.addAppender(logs);
        KeyMaterial cert = SelfSignedCertificate.generate(List.of("127.0.0.1"), Duration.ofDays(30));
        Path trust = Files.writeString(dir.resolve("upstream.crt"), Pem.encode(cert.leaf()));
        try (ProviderScripts.Scripted provider = ProviderScripts.withStartTls(ProviderScripts.problem(preset, row),
                UpstreamTls.context(cert))) {
            int port = Loopback.freePort();
            int adminPort = Loopback.freePort();
            RelayConfig config = config(preset, port, provider.port(), trust, adminPort);
            HttpClient http = HttpClient.newHttpClient();
            URI readyz = URI.create("http://127.0.0.1:" + adminPort + "/readyz");
            URI metrics = URI.create("http://127.0.0.1:" + adminPort + "/metrics");
            String gauge = "relay_upstream_account_problem{reason=\"" + reason + "\",upstream=\"" + preset + "\"}";
            try (RelayServer relay = RelayServer.start(config)) {
                try (SimpleSmtpClient smtp = new SimpleSmtpClient(port, 10_000)) {
                    assertThat(smtp.send(SENDER, "b@example.org", "Subject: x\r\n\r\nx")).startsWith("250");
                }
                Instant sent = Instant.now();
                await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
                    assertThat(get(http, metrics).body()).contains(gauge + " 1");
                    HttpResponse<String> r = get(http, readyz);
                    assertThat(r.statusCode()).isEqualTo(503);
                    assertThat(r.body()).contains(reason);
                    assertThat(deferred(relay).attempts()).isPositive();
                });
                assertThat(logs.list).filteredOn(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                        .as("one line with the fix").singleElement().satisfies(e -> {
                    assertThat(e.getLevel()).isEqualTo(quotaMinutes > 0 ? Level.WARN : Level.ERROR);
                    assertThat(e.getFormattedMessage()).contains(preset, reason, "deferred, not bounced", "Fix: ");
                });
                assertThat(relay.queue().admin().stats().messages().getOrDefault(QueueState.FAILED, 0L))
                        .as("deferred, not bounced").isZero();
                if (quotaMinutes > 0) {
                    assertThat(deferred(relay).nextAttempt()).as("waits for the quota, not the 1 s backoff")
                            .isAfter(sent.plus(Duration.ofMinutes(quotaMinutes - 1)));
                }
                assertThat(doctor(config)).contains("OK    tls", "FAIL", "fix: ", doctorFix);

                provider.end(); // the admin fixed the account, or the quota window reopened
                if (quotaMinutes > 0) {
                    relay.queue().admin().retryAll(); // the operator does not wait for the message's due time
                }
                await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
                    assertThat(provider.upstream.mails()).extracting(TestUpstream.Mail::from)
                            .as("the message, and no DSN to its sender").containsExactly(SENDER);
                    assertThat(get(http, metrics).body()).contains(gauge + " 0");
                    assertThat(get(http, readyz).statusCode()).isEqualTo(200);
                });
                assertThat(provider.upstream.lines()).as("sent under STARTTLS")
                        .filteredOn(l -> l.text().startsWith("MAIL FROM:")).isNotEmpty()
                        .allMatch(TestUpstream.Line::tls);
            }
        } finally {
            pool.detachAppender(logs);
        }
    }

    /**
     * The relay with {@code provider: preset}, its url set to the scripted upstream on loopback (STARTTLS, as the
     * preset's own, with the upstream's certificate as {@code trust}).
     */
    private RelayConfig config(String preset, int port, int upstreamPort, Path trust, int adminPort)
            throws Exception {
        String keys = switch (preset) {
            case "sendgrid" -> ""; // the preset fills the user name apikey
            case "ses" -> "region: eu-west-1, username: AKIAEXAMPLESMTPUSER,";
            case "mailgun" -> "region: us, username: postmaster@mg.example.com,";
            case "acs" -> "username: relay-acs.00000000-0000-0000-0000-000000000001.00000000-0000-0000-0000-"
                    + "000000000002,";
            default -> "username: relay@example.com,";
        };
        String yaml = """
                listeners:
                  - { name: local, bind: "127.0.0.1:%d", tls: none }
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s" }
                queue: { min-backoff: 1s, max-backoff: 1s }
                upstreams:
                  - { name: %s, provider: %s, url: "smtp://127.0.0.1:%d", trust: "%s", %s password: secret,
                      rate: { per-second: 0, per-day: 0 } }
                admin: { bind: "127.0.0.1:%d" }
                readiness: { require-upstream: true }
                """.formatted(port, dir.resolve("spool"), preset, preset, upstreamPort, trust, keys, adminPort);
        return ConfigLoader.load(Files.writeString(dir.resolve("relay.yaml"), yaml), Map.of()).config();
    }

    /** {@code relay doctor --send-test} against the configured upstream, as printed. */
    private static String doctor(RelayConfig config) throws Exception {
        DoctorCommand doctor = new DoctorCommand();
        new CommandLine(doctor).parseArgs("--send-test", "b@example.org", "--from", SENDER, "--timeout", "PT5S");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(doctor.run(config, new PrintStream(out, true, StandardCharsets.UTF_8))).isFalse();
        return out.toString(StandardCharsets.UTF_8);
    }

    private static QueueAdmin.Message deferred(RelayServer relay) throws Exception {
        return relay.queue().admin().list(new QueueAdmin.Filter(Set.of(QueueState.DEFERRED), null, null,
                null)).stream().findFirst().orElseThrow(() -> new AssertionError("no deferred message"));
    }

    private static HttpResponse<String> get(HttpClient http, URI uri) throws Exception {
        return http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
    }
}
