package dev.relay.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

class TestUpstreamTest {

    /** A minimal client: sends lines, reads whole replies. */
    private static final class Client implements AutoCloseable {
        final Socket socket;
        final BufferedReader in;
        final OutputStream out;

        Client(int port) throws IOException {
            socket = new Socket(InetAddress.getLoopbackAddress(), port);
            socket.setSoTimeout(5_000);
            in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            out = socket.getOutputStream();
        }

        void send(String text) throws IOException {
            out.write(text.getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        String reply() throws IOException {
            StringBuilder sb = new StringBuilder();
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                sb.append(line).append('\n');
                if (line.length() < 4 || line.charAt(3) != '-') {
                    break;
                }
            }
            return sb.toString();
        }

        String command(String line) throws IOException {
            send(line + "\r\n");
            return reply();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Test
    void servesAWellBehavedSessionAndRecordsTheMailWithItsEnvelope() throws Exception {
        try (TestUpstream up = TestUpstream.plain().credentials((u, p) -> u.equals("app") && p.equals("secret"));
             Client c = new Client(up.port())) {
            assertThat(c.reply()).startsWith("220 ");
            assertThat(c.command("EHLO client.test")).contains("250-8BITMIME").contains("AUTH PLAIN LOGIN")
                    .doesNotContain("PIPELINING").doesNotContain("STARTTLS");
            String wrong = Base64.getEncoder().encodeToString("\0app\0nope".getBytes(StandardCharsets.UTF_8));
            assertThat(c.command("AUTH PLAIN " + wrong)).startsWith("535 5.7.8");
            String right = Base64.getEncoder().encodeToString("\0app\0secret".getBytes(StandardCharsets.UTF_8));
            assertThat(c.command("AUTH PLAIN " + right)).startsWith("235 ");
            assertThat(c.command("MAIL FROM:<a@example.com> BODY=8BITMIME")).startsWith("250 ");
            assertThat(c.command("RCPT TO:<b@example.net>")).startsWith("250 ");
            assertThat(c.command("DATA")).startsWith("354 ");
            assertThat(c.command("Subject: hi\r\n\r\n..dot\r\n.")).startsWith("250 2.0.0");
            assertThat(c.command("QUIT")).startsWith("221 ");
            TestUpstream.Mail mail = up.mails().get(0);
            assertThat(mail.from()).isEqualTo("a@example.com");
            assertThat(mail.to()).containsExactly("b@example.net");
            assertThat(mail.mailLine()).endsWith("BODY=8BITMIME");
            assertThat(mail.data()).isEqualTo("Subject: hi\r\n\r\n.dot\r\n");
            assertThat(up.commands()).contains("QUIT").doesNotContain("Subject: hi");
            assertThat(up.transactions()).isEqualTo(1);
            assertThat(up.quits()).isEqualTo(1);
        }
    }

    @Test
    void insistingOnPipeliningHoldsEveryReplyOfTheGroupUntilData() throws Exception {
        try (TestUpstream up = TestUpstream.plain().pipelining(true).eightBitMime(false)
                .mailReply(n -> n == 1 ? "452 4.3.1 try later" : null);
             Client c = new Client(up.port())) {
            c.reply();
            assertThat(c.command("EHLO client.test")).contains("PIPELINING").doesNotContain("8BITMIME");
            c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\n");
            c.socket.setSoTimeout(300);
            assertThatThrownBy(c::reply).isInstanceOf(java.net.SocketTimeoutException.class);
            c.socket.setSoTimeout(5_000);
            c.send("DATA\r\n");
            List<String> replies = new ArrayList<>(List.of(c.reply(), c.reply(), c.reply()));
            assertThat(replies).extracting(r -> r.substring(0, 3)).containsExactly("250", "250", "354");
            assertThat(c.command("x\r\n.")).startsWith("250 ");
            c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
            assertThat(List.of(c.reply(), c.reply(), c.reply())).extracting(r -> r.substring(0, 3))
                    .containsExactly("452", "503", "554");
            assertThat(up.messages()).isEqualTo(1);
        }
    }

    @Test
    void aScriptSpeaksLineByLineAndItsFailureReachesTheTest() throws Exception {
        try (TestUpstream up = TestUpstream.scripted((n, s) -> {
            s.hello("AUTH LOGIN");
            s.expect("MAIL FROM:"); // the client sends EHLO's follower: this script expects MAIL and gets NOOP
        }); Client c = new Client(up.port())) {
            c.reply();
            c.command("EHLO client.test");
            c.send("NOOP\r\n");
            assertThatThrownBy(up::awaitScript).isInstanceOf(AssertionError.class).hasMessageContaining("NOOP");
            assertThat(up.received()).containsExactly("EHLO client.test", "NOOP");
        }
    }

    @Test
    void xoauth2AcceptsOnlyTheTokensTheTestAccepts() throws Exception {
        try (TestUpstream up = TestUpstream.plain().authMechanisms("LOGIN").xoauth2("good"::equals);
             Client c = new Client(up.port())) {
            c.reply();
            assertThat(c.command("EHLO client.test")).contains("AUTH LOGIN XOAUTH2");
            String bad = Base64.getEncoder().encodeToString("user=u\u0001auth=Bearer bad\u0001\u0001".getBytes(
                    StandardCharsets.UTF_8));
            assertThat(c.command("AUTH XOAUTH2 " + bad)).startsWith("334 ");
            assertThat(c.command("")).startsWith("535 ");
            String good = Base64.getEncoder().encodeToString("user=u\u0001auth=Bearer good\u0001\u0001".getBytes(
                    StandardCharsets.UTF_8));
            assertThat(c.command("AUTH XOAUTH2 " + good)).startsWith("235 ");
            assertThat(up.xoauth2Responses()).hasSize(2);
        }
    }
    @Test
    void aDataReplyScriptAnswersTheFinalDotByTransactionAndARefusedMessageIsNotRecorded() throws Exception {
        try (TestUpstream up = TestUpstream.plain().dataReply(n -> n == 0 ? "554 Message rejected: no" : null);
             Client c = new Client(up.port())) {
            c.reply();
            c.command("EHLO client.test");
            for (String expected : List.of("554 Message rejected", "250 2.0.0")) {
                assertThat(c.command("MAIL FROM:<a@example.com>")).startsWith("250 ");
                assertThat(c.command("RCPT TO:<b@example.net>")).startsWith("250 ");
                assertThat(c.command("DATA")).startsWith("354 ");
                assertThat(c.command("Subject: t\r\n\r\nx\r\n.")).startsWith(expected);
            }
            assertThat(up.mails()).hasSize(1);
            assertThat(up.transactions()).isEqualTo(2);
        }
    }

    @Test
    void aProvidersOwnEhloLinesAreSaidAsTheyAreAndTheSessionBehavesAsTheySay() throws Exception {
        try (TestUpstream up = TestUpstream.plain().extensions("SIZE 10485760", "STARTTLS", "AUTH LOGIN", "Ok");
             Client c = new Client(up.port())) {
            c.reply();
            assertThat(c.command("EHLO client.test")).isEqualTo("250-upstream.test hello\n250-SIZE 10485760\n"
                    + "250-AUTH LOGIN\n250 Ok\n"); // no STARTTLS without a certificate
            assertThat(c.command("AUTH LOGIN")).startsWith("334 ");
            assertThat(c.command("YXBw")).startsWith("334 ");
            assertThat(c.command("c2VjcmV0")).startsWith("235 ");
        }
    }

    @Test
    void aProviderScriptGivesItsAccountReplyAtItsPhaseUntilTheProblemEnds() throws Exception {
        ProviderScripts.Problem quota = ProviderScripts.problem("ses", "daily-quota");
        try (ProviderScripts.Scripted ses = ProviderScripts.plain(quota)) {
            for (boolean on : List.of(true, false)) {
                try (Client c = new Client(ses.port())) {
                    assertThat(c.reply()).startsWith("220 email-smtp.amazonaws.com");
                    assertThat(c.command("EHLO client.test")).contains("250-SIZE 10485760", "AUTH PLAIN LOGIN");
                    String mail = c.command("MAIL FROM:<a@example.com>");
                    if (on) {
                        assertThat(mail).startsWith("454 Throttling failure: Daily message quota exceeded");
                        ses.end();
                    } else {
                        assertThat(mail).startsWith("250 ");
                    }
                }
            }
        }
    }
}
