package dev.relay.server.setup;

import dev.relay.config.AdminConfig;
import dev.relay.config.AuthConfig;
import dev.relay.config.HostPort;
import dev.relay.config.ListenerConfig;
import dev.relay.config.QueueConfig;
import dev.relay.config.RelayConfig;
import dev.relay.config.SpoolConfig;
import dev.relay.config.TlsConfig;
import dev.relay.config.TlsMode;
import dev.relay.config.UpstreamConfig;
import dev.relay.config.UpstreamUrl;
import dev.relay.core.auth.UsersFile;
import dev.relay.core.tls.KeyMaterial;
import dev.relay.core.tls.Pem;
import dev.relay.core.tls.SelfSignedCertificate;
import dev.relay.server.receive.tls.ServerTls;
import dev.relay.server.sink.CaptureSink;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/**
 * The built-in demo defaults: everything under one data directory, made on first start and kept afterwards
 * (certificate, demo user's password, the sink's credentials), a relay on loopback and a capture sink as its
 * smarthost, so {@code relay serve} with no configuration relays a message end to end.
 */
public final class DemoSetup {
    /** The demo's ports; the defaults are 2587 (STARTTLS), 2465 (implicit TLS), 2525 (sink) and 9090 (admin). */
    public record Ports(int submission, int submissions, int sink, int admin) {
        public static final Ports DEFAULT = new Ports(2587, 2465, 2525, 9090);

        /**
         * {@code SUB,SUBS,SINK,ADMIN}, four distinct ports from 1 to 65535.
         *
         * @throws IllegalArgumentException naming what is wrong
         */
        public static Ports parse(String text) {
            String[] parts = text.split(",", -1);
            if (parts.length != 4) {
                throw new IllegalArgumentException("--demo-ports: '" + text + "' is not four ports: give "
                        + "SUBMISSION,SUBMISSIONS,SINK,ADMIN, e.g. 12587,12465,12525,19090");
            }
            int[] p = new int[4];
            for (int i = 0; i < 4; i++) {
                try {
                    p[i] = Integer.parseInt(parts[i].trim());
                } catch (NumberFormatException e) {
                    p[i] = -1;
                }
                if (p[i] < 1 || p[i] > 65535) {
                    throw new IllegalArgumentException("--demo-ports: '" + parts[i].trim() + "' is not a port "
                            + "(1-65535)");
                }
            }
            if (java.util.Arrays.stream(p).distinct().count() != 4) {
                throw new IllegalArgumentException("--demo-ports: '" + text + "' repeats a port: the four must "
                        + "differ");
            }
            return new Ports(p[0], p[1], p[2], p[3]);
        }
    }

    public static final String DEMO_USER = "demo";
    static final String SINK_USER = "relay";
    private static final String HOST = "127.0.0.1";

    private final Path dataDir;
    private final Ports ports;
    private final String demoPassword;
    private final String sinkPassword;
    private final RelayConfig config;

    private DemoSetup(Path dataDir, Ports ports, String demoPassword, String sinkPassword, RelayConfig config) {
        this.dataDir = dataDir;
        this.ports = ports;
        this.demoPassword = demoPassword;
        this.sinkPassword = sinkPassword;
        this.config = config;
    }

    /** Creates what is missing under {@code dataDir} and returns the demo configuration. */
    public static DemoSetup prepare(Path dataDir, Ports ports) throws IOException {
        Path dir = Files.createDirectories(dataDir).toAbsolutePath();
        Path tlsDir = Files.createDirectories(dir.resolve("tls"));
        Path cert = tlsDir.resolve("cert.pem");
        Path key = tlsDir.resolve("key.pem");
        if (!Files.exists(cert) || !Files.exists(key)) {
            KeyMaterial km = SelfSignedCertificate.generate(List.of("localhost", "127.0.0.1", "::1"),
                    Duration.ofDays(825));
            writePrivate(key, Pem.encode(new JcaPKCS8Generator(km.key(), null)));
            Files.writeString(cert, Pem.encode(km.leaf()));
        }
        String demoPassword = secret(dir.resolve("demo-password"));
        Path users = dir.resolve("users");
        if (!Files.exists(users)) {
            writePrivate(users, "# relay users: made by the demo defaults; add lines with `relay passwd USER`\n"
                    + UsersFile.line(DEMO_USER, demoPassword.toCharArray()) + "\n");
        }
        String sinkPassword = secret(dir.resolve("sink-password"));
        Path sample = dir.resolve("sample.eml");
        if (!Files.exists(sample)) {
            Files.writeString(sample, "From: a@example.com\r\nTo: b@example.com\r\nSubject: hello from relay\r\n"
                    + "\r\nIt works: this message went through the relay to the capture sink.\r\n");
        }
        RelayConfig config = new RelayConfig(null,
                List.of(new ListenerConfig("submission", new HostPort(HOST, ports.submission()), TlsMode.STARTTLS),
                        new ListenerConfig("submissions", new HostPort(HOST, ports.submissions()),
                                TlsMode.IMPLICIT)),
                new TlsConfig(cert, key),
                new AuthConfig(users, List.of()),
                new SpoolConfig(dir.resolve("spool")),
                new QueueConfig(Duration.ofSeconds(10)),
                List.of(new UpstreamConfig("demo-sink",
                        UpstreamUrl.parse("smtp://" + SINK_USER + "@" + HOST + ":" + ports.sink()), SINK_USER,
                        sinkPassword, TlsMode.STARTTLS, cert)),
                new AdminConfig(new HostPort(HOST, ports.admin())));
        return new DemoSetup(dir, ports, demoPassword, sinkPassword, config);
    }

    public RelayConfig config() {
        return config;
    }

    public String demoPassword() {
        return demoPassword;
    }

    public Path outbox() {
        return dataDir.resolve("outbox");
    }

    /** Starts the capture sink the demo relay delivers to (STARTTLS with the demo certificate, AUTH required). */
    public CaptureSink startSink() throws IOException, GeneralSecurityException {
        ServerTls tls = new ServerTls(Pem.readKeyMaterial(config.tls().cert(), config.tls().key()));
        CaptureSink sink = new CaptureSink(new HostPort(HOST, ports.sink()), outbox(), SINK_USER, sinkPassword,
                tls);
        sink.start();
        return sink;
    }

    /** What a newcomer needs to try the relay, every address, file and credential. */
    public String banner() {
        String nl = System.lineSeparator();
        return String.join(nl,
                "",
                "relay is running on its built-in demo defaults (data directory " + dataDir + ")",
                "  submission (STARTTLS)   " + HOST + ":" + ports.submission(),
                "  submissions (TLS)       " + HOST + ":" + ports.submissions(),
                "  user                    " + DEMO_USER,
                "  password                " + demoPassword + "   (kept in " + dataDir.resolve("demo-password") + ")",
                "  users file              " + config.auth().usersFile(),
                "  certificate (self-signed) " + config.tls().cert() + "  key " + config.tls().key(),
                "  spool                   " + config.spool().dir(),
                "  upstream                capture sink on " + HOST + ":" + ports.sink()
                        + " (user " + SINK_USER + ", password in " + dataDir.resolve("sink-password") + ")",
                "  outbox                  " + outbox() + "   (each relayed message lands here as an .eml file)",
                "  admin                   http://" + HOST + ":" + ports.admin() + "/metrics  /healthz  /readyz",
                "  console                 http://" + HOST + ":" + ports.admin() + "/   (captured messages: /demo)",
                "",
                "Send a test message:",
                "  curl --ssl-reqd --user " + DEMO_USER + ":" + demoPassword
                        + " --mail-from a@example.com --mail-rcpt b@example.com --upload-file "
                        + dataDir.resolve("sample.eml") + " smtp://" + HOST + ":" + ports.submission() + " -k",
                "  ls " + outbox(),
                "");
    }

    private static String secret(Path file) throws IOException {
        if (Files.exists(file)) {
            return Files.readString(file, StandardCharsets.UTF_8).strip();
        }
        byte[] bytes = new byte[18];
        new SecureRandom().nextBytes(bytes);
        String s = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        writePrivate(file, s + "\n");
        return s;
    }

    private static void writePrivate(Path file, String content) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        try {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(tmp);
        }
        Files.writeString(tmp, content, StandardCharsets.UTF_8);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
