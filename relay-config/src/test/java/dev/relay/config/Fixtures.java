package dev.relay.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

final class Fixtures {
    static final String FULL = """
            hostname: relay.example.com
            listeners:
              - { name: submission,  bind: "0.0.0.0:587", tls: starttls }
              - { name: submissions, bind: "0.0.0.0:465", tls: implicit }
              - { name: local, bind: "[::1]:2525", tls: none }
            tls: { cert: /etc/relay/tls.crt, key: /etc/relay/tls.key }
            auth:
              users-file: /etc/relay/users
              trusted-networks: ["127.0.0.1/32", "fd00::/8"]
            spool: { dir: /var/spool/relay }
            queue: { retry-delay: 30s }
            upstreams:
              - name: primary
                url: "smtp://apikey@smtp.sendgrid.net:587"
                password: s3cret-Pa55
                trust: /etc/relay/upstream-ca.pem
              - name: backup
                url: "smtps://mail.example.net"
                username: relay
                password: other-Secret
            admin: { bind: "127.0.0.1:9090" }
            """;

    /** The smallest valid file: one listener, auth, spool, one upstream. */
    static final String MINIMAL = """
            listeners:
              - { name: submission, bind: "0.0.0.0:587" }
            tls: { cert: /etc/relay/tls.crt, key: /etc/relay/tls.key }
            auth: { users-file: /etc/relay/users }
            spool: { dir: /var/spool/relay }
            upstreams:
              - { name: primary, url: "smtp://smtp.example.com" }
            """;

    private Fixtures() {
    }

    /** The minimal configuration with {@code extra} YAML appended, loaded with {@code env}. */
    static RelayConfig minimalWith(Path dir, String extra, java.util.Map<String, String> env) {
        return ConfigLoader.load(write(dir, MINIMAL + "\n" + extra + "\n"), env).config();
    }

    static Path write(Path dir, String yaml) {
        try {
            return Files.writeString(dir.resolve("relay.yaml"), yaml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
