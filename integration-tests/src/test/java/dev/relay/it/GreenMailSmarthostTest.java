package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import dev.relay.config.RelayConfig;
import dev.relay.server.RelayServer;
import jakarta.mail.internet.MimeMessage;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Jakarta Mail submits to the relay with STARTTLS and AUTH; the relay delivers over implicit TLS, verifying the
 * certificate against the configured trust bundle, authenticating to GreenMail as the smarthost.
 */
class GreenMailSmarthostTest {
    @TempDir
    Path dir;

    GreenMail greenMail;
    RelayServer relay;

    @AfterEach
    void stop() {
        if (relay != null) {
            relay.close();
        }
        if (greenMail != null) {
            greenMail.stop();
        }
    }

    @Test
    void messageIsRelayedThroughAnAuthenticatingTlsSmarthost() throws Exception {
        TestRelay setup = new TestRelay(dir);
        // GreenMail reads its TLS key store once per JVM, from these properties
        System.setProperty("greenmail.tls.keystore.file", setup.pkcs12("changeit").toString());
        System.setProperty("greenmail.tls.keystore.password", "changeit");
        System.setProperty("greenmail.tls.key.password", "changeit");
        int upstreamPort = Loopback.freePort();
        greenMail = new GreenMail(new ServerSetup(upstreamPort, Loopback.HOST, ServerSetup.PROTOCOL_SMTPS));
        greenMail.setUser("relay@example.net", "relay", "upstream-secret");
        greenMail.start();

        RelayConfig config = setup.config("smtps://relay@127.0.0.1:" + upstreamPort, "upstream-secret", setup.cert,
                Duration.ofSeconds(1));
        relay = RelayServer.start(config);

        Loopback.submit(setup.submissionPort, Loopback.Tls.STARTTLS, TestRelay.USER, TestRelay.PASSWORD,
                "app@example.com", "someone@example.org", "via greenmail", "line one\n.line two\n");

        await().atMost(Duration.ofSeconds(20)).until(() -> greenMail.getReceivedMessages().length == 1);
        MimeMessage m = greenMail.getReceivedMessages()[0];
        assertThat(m.getSubject()).isEqualTo("via greenmail");
        assertThat(m.getAllRecipients()[0].toString()).isEqualTo("someone@example.org");
        // GreenMail drops the final line break of the body; the dot-stuffed line must come back as it was sent
        assertThat(((String) m.getContent()).replace("\r\n", "\n").strip()).isEqualTo("line one\n.line two");
        await().atMost(Duration.ofSeconds(5)).until(() -> relay.queue().queued() == 0);
    }
}
