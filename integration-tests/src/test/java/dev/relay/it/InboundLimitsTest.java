package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The limits against abuse over real sockets: the total data time, commands before MAIL, the per-user quotas and
 * overlong lines, each with its reply and its {@code relay.inbound.refused} reason. One relay for the class.
 */
class InboundLimitsTest {
    @TempDir
    static Path dir;
    static InboundSubmissionTest relay;

    @BeforeAll
    static void start() throws Exception {
        relay = new InboundSubmissionTest();
        relay.dir = dir;
        relay.startRelay("data-timeout: 2s, idle-timeout: 3s, max-commands-before-mail: 5, "
                + "user-messages-per-minute: 2, user-recipients-per-day: 3");
    }

    @AfterAll
    static void stop() {
        relay.stopRelay();
    }

    static double refused(String reason) {
        return relay.count("relay.inbound.refused", "reason", reason);
    }

    static double received() {
        return relay.relay.registry().get("relay.messages.received").counter().count();
    }

    @Test
    void aClientThatTricklesTheDataIsCutOffAtTheDataTimeoutAndNothingIsQueued() throws Exception {
        double before = received();
        try (RawSmtp c = relay.tlsSession()) {
            assertThat(c.authPlain("narrow", "narrow-pw")).startsWith("235");
            c.command("MAIL FROM:<slow@example.com>");
            c.command("RCPT TO:<a@example.com>");
            assertThat(c.command("DATA")).startsWith("354");
            long start = System.nanoTime();
            c.send("Subject: slow\r\n\r\nfirst line\r\n");
            assertThat(c.reply()).isEqualTo("421 4.4.2 Timeout: the message data took too long, closing connection");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(1500),
                    Duration.ofSeconds(8));
            assertThat(c.reply()).as("the connection is closed").isNull();
        }
        assertThat(received()).isEqualTo(before);
        assertThat(refused("data_timeout")).isEqualTo(1.0);
    }

    @Test
    void aSilentClientIsClosedAtTheIdleTimeoutWithAnEnhancedCodeInOrOutOfATransaction() throws Exception {
        double before = refused("idle_timeout");
        try (RawSmtp c = new RawSmtp(InboundSubmissionTest.HOST, relay.starttls, false)) {
            long start = System.nanoTime();
            c.command("EHLO client.test");
            assertThat(c.reply()).isEqualTo("421 4.4.2 Idle timeout: no command for too long, closing connection");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(2500),
                    Duration.ofSeconds(10));
            assertThat(c.reply()).as("the connection is closed").isNull();
        }
        try (RawSmtp c = relay.tlsSession()) {
            assertThat(c.authPlain("narrow", "narrow-pw")).startsWith("235");
            assertThat(c.command("MAIL FROM:<idle@example.com>")).startsWith("250");
            assertThat(c.reply()).isEqualTo("421 4.4.2 Idle timeout: no command for too long, closing connection");
            assertThat(c.reply()).isNull();
        }
        assertThat(refused("idle_timeout")).isEqualTo(before + 2);
    }

    @Test
    void aClientThatOnlyTalksIsClosedAfterTheCommandLimitAndMailResetsTheCount() throws Exception {
        double before = refused("too_many_commands");
        try (RawSmtp c = new RawSmtp(InboundSubmissionTest.HOST, relay.starttls, false)) {
            c.command("EHLO client.test");
            for (int i = 0; i < 4; i++) {
                assertThat(c.command("NOOP")).isEqualTo("250 2.0.0 Ok");
            }
            assertThat(c.command("NOOP")).isEqualTo("421 4.7.0 Too many commands before MAIL, closing connection");
            assertThat(c.reply()).isNull();
        }
        try (RawSmtp c = relay.tlsSession()) { // EHLO, STARTTLS, EHLO
            assertThat(c.authPlain("narrow", "narrow-pw")).startsWith("235"); // 4
            assertThat(c.command("MAIL FROM:<talker@example.com>")).isEqualTo("250 2.1.0 Ok"); // 5: accepted
            assertThat(c.command("RSET")).as("in a transaction: not counted").isEqualTo("250 2.0.0 Ok");
            for (int i = 0; i < 5; i++) {
                assertThat(c.command("NOOP")).isEqualTo("250 2.0.0 Ok");
            }
            assertThat(c.command("NOOP")).startsWith("421 4.7.0");
        }
        assertThat(refused("too_many_commands") - before).isEqualTo(2.0);
    }

    @Test
    void aUserOverItsMessagesPerMinuteGets450AtMail() throws Exception {
        try (RawSmtp c = relay.authenticated()) {
            for (int i = 0; i < 2; i++) {
                assertThat(c.command("MAIL FROM:<app@example.com>")).isEqualTo("250 2.1.0 Ok");
                c.command("RCPT TO:<a@example.net>");
                c.command("DATA");
                assertThat(c.command("Subject: rate " + i + "\r\n\r\nx\r\n.")).startsWith("250 2.0.0 Ok: queued");
            }
            assertThat(c.command("MAIL FROM:<app@example.com>"))
                    .isEqualTo("450 4.7.1 Too many messages from user app in the last minute, try again later");
        }
        assertThat(refused("user_message_rate")).isEqualTo(1.0);
    }

    @Test
    void aUserOverItsRecipientsPerDayGets450AtRcptAndKeepsWhatWasAccepted() throws Exception {
        double before = received();
        try (RawSmtp c = relay.tlsSession()) {
            assertThat(c.authPlain("narrow", "narrow-pw")).startsWith("235");
            c.command("MAIL FROM:<quota@example.com>");
            for (String r : new String[] {"a", "b", "c"}) {
                assertThat(c.command("RCPT TO:<" + r + "@example.com>")).isEqualTo("250 2.1.5 Ok");
            }
            assertThat(c.command("RCPT TO:<d@example.com>"))
                    .isEqualTo("450 4.7.1 Recipient quota of user narrow for 24 hours reached, try again later");
            c.command("DATA");
            assertThat(c.command("Subject: quota\r\n\r\nx\r\n.")).startsWith("250 2.0.0 Ok: queued");
            assertThat(c.command("MAIL FROM:<quota@example.com>")).isEqualTo("250 2.1.0 Ok");
            assertThat(c.command("RCPT TO:<e@example.com>")).startsWith("450 4.7.1");
        }
        assertThat(received() - before).isEqualTo(1.0);
        assertThat(refused("user_recipient_quota")).isGreaterThanOrEqualTo(2.0);
    }

    @Test
    void aLineOver998CharactersIsRefusedAfterTheDataAndTheSessionGoesOn() throws Exception {
        double before = received();
        String longest = "x".repeat(998);
        try (RawSmtp c = new RawSmtp("::1", relay.ipv6, false)) { // the trusted sidecar: no user quota
            c.command("EHLO sidecar");
            c.command("MAIL FROM:<lines@example.com>");
            c.command("RCPT TO:<a@example.net>");
            c.command("DATA");
            assertThat(c.command("Subject: long body\r\n\r\n" + longest + "y\r\nQUIT\r\n.")).isEqualTo(
                    "500 5.5.2 Line too long: message lines may have at most 998 characters (RFC 5322), "
                            + "encode long lines as quoted-printable or base64");
            assertThat(c.command("NOOP")).as("the rest of the data was not read as commands").isEqualTo("250 2.0.0 Ok");
            c.command("MAIL FROM:<lines@example.com>");
            c.command("RCPT TO:<a@example.net>");
            c.command("DATA");
            assertThat(c.command("Subject: " + longest + "\r\n\r\nx\r\n.")).as("a long header line too")
                    .startsWith("500 5.5.2");
            c.command("MAIL FROM:<lines@example.com>");
            c.command("RCPT TO:<a@example.net>");
            c.command("DATA");
            assertThat(c.command("Subject: at the limit\r\n\r\n.." + longest.substring(1) + "\r\n."))
                    .as("998 characters (a stuffed dot does not count)").startsWith("250 2.0.0 Ok: queued");
        }
        assertThat(received() - before).isEqualTo(1.0);
        assertThat(refused("line_too_long")).isEqualTo(2.0);
    }
}
