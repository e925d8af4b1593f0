package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.config.ConfigLoader;
import dev.relay.server.RelayServer;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Old protocol versions are refused inbound: after STARTTLS, a hand-made ClientHello that offers at most SSLv3,
 * TLS 1.0 or TLS 1.1 gets an alert, never a ServerHello. (Hand-made, because the test JVM's own client refuses to
 * offer those versions at all, which would prove nothing about the relay.) The outbound side is in
 * {@link UpstreamFaultTest#anUpstreamOfferingOnlyTls11IsRefusedAndTheMessageDeferredUntilTls12()}.
 */
class TlsVersionTest {
    @TempDir
    static Path dir;
    static TestRelay setup;
    static RelayServer relay;

    @org.junit.jupiter.api.BeforeAll
    static void start() throws Exception {
        setup = new TestRelay(dir);
        String yaml = """
                listeners:
                  - { name: submission, bind: "127.0.0.1:%d", tls: starttls }
                tls: { cert: "%s", key: "%s" }
                auth: { users-file: "%s" }
                spool: { dir: "%s", min-free-space: 0 }
                upstreams:
                  - { name: nowhere, url: "smtp://127.0.0.1:%d", tls: none }
                admin: { bind: "127.0.0.1:%d" }
                """.formatted(setup.submissionPort, setup.cert, setup.key, dir.resolve("users"),
                dir.resolve("spool"), Loopback.freePort(), setup.adminPort);
        relay = RelayServer.start(ConfigLoader.load(Files.writeString(dir.resolve("relay.yaml"), yaml), Map.of())
                .config());
    }

    @org.junit.jupiter.api.AfterAll
    static void stop() {
        relay.close();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"SSLv3, 0", "TLSv1.0, 1", "TLSv1.1, 2"})
    void aClientOfferingAtMostAnOldVersionGetsAnAlertNotAServerHello(String name, int minor) throws Exception {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(Loopback.HOST, setup.submissionPort), 5000);
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            assertThat(line(in)).startsWith("220");
            out.write("EHLO old.client\r\n".getBytes(StandardCharsets.US_ASCII));
            while (!line(in).startsWith("250 ")) {
                // the EHLO reply's lines
            }
            out.write("STARTTLS\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(line(in)).startsWith("220");
            out.write(clientHello(minor));
            out.flush();
            int first = in.read();
            assertThat(first).as("0x15 is an alert, 0x16 would be the ServerHello; -1 a plain close")
                    .isIn(0x15, -1);
            // and a modern client still gets through on a new connection
            try (RawSmtp ok = new RawSmtp(Loopback.HOST, setup.submissionPort, false)) {
                ok.command("EHLO client.test");
                ok.startTls();
                assertThat(ok.command("EHLO client.test")).contains("AUTH");
            }
        }
    }

    /** A ClientHello whose highest version is 3.{minor}, with classic suites and no extensions. */
    static byte[] clientHello(int minor) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(3);
        body.write(minor);
        body.writeBytes(new byte[32]); // client random
        body.write(0); // no session id
        int[] suites = {0xc013, 0xc014, 0x002f, 0x0035, 0x000a};
        body.write(0);
        body.write(suites.length * 2);
        for (int suite : suites) {
            body.write(suite >> 8);
            body.write(suite & 0xff);
        }
        body.write(1); // one compression method
        body.write(0); // null
        byte[] b = body.toByteArray();
        ByteArrayOutputStream record = new ByteArrayOutputStream();
        record.writeBytes(new byte[] {0x16, 3, (byte) Math.max(minor, 1), 0, (byte) (b.length + 4)});
        record.writeBytes(new byte[] {0x01, 0, 0, (byte) b.length});
        record.writeBytes(b);
        return record.toByteArray();
    }

    private static String line(InputStream in) throws java.io.IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (c != '\r') {
                sb.append((char) c);
            }
        }
        return sb.toString();
    }
}
