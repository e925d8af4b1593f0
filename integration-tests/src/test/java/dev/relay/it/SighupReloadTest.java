package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.core.auth.UsersFile;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGHUP makes a running relay re-read its users file and its configuration file and log what changed;
 * connections stay up.
 */
class SighupReloadTest {
    @TempDir
    Path dir;

    @Test
    void sighupReloadsTheUsersFileAndKeepsTheRelayAndItsSessionsRunning() throws Exception {
        int port = Loopback.freePort();
        String app = UsersFile.line("app", "pw".toCharArray()) + "\n";
        Path users = Files.writeString(dir.resolve("users"), app);
        Path config = Files.writeString(dir.resolve("relay.yaml"), """
                listeners:
                  - { name: local, bind: "127.0.0.1:%d", tls: none }
                auth: { users-file: "%s", trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s", min-free-space: 0 }
                upstreams:
                  - { name: sink, url: "smtp://127.0.0.1:%d", tls: none }
                admin: { bind: "127.0.0.1:%d" }
                """.formatted(port, users, dir.resolve("spool"), Loopback.freePort(), Loopback.freePort()));
        Path log = dir.resolve("relay.log");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process relay = new ProcessBuilder(java, "-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), "dev.relay.server.Main", "serve", "--config",
                config.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> Files.readString(log).contains("relay ready"));
            try (SimpleSmtpClient open = new SimpleSmtpClient(port, 10_000)) {
                Files.writeString(users, app + UsersFile.line("bob", "pw".toCharArray()) + "\n");
                Process kill = new ProcessBuilder("sh", "-c", "kill -HUP " + relay.pid()).inheritIO().start();
                assertThat(kill.waitFor()).isZero();
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                    String text = Files.readString(log);
                    int hup = text.indexOf("SIGHUP: reloading");
                    assertThat(hup).as("SIGHUP handled").isPositive();
                    // the file watch may have seen the change first; the SIGHUP reload then finds no change
                    assertThat(text.substring(hup)).containsPattern(
                            "users file .*users reloaded: 2 users \\((added \\[bob\\]|no change)\\)");
                    assertThat(text).contains("added [bob]");
                    assertThat(text.substring(hup)).as("and the configuration file, unchanged")
                            .contains("reload: configuration from " + config + " loaded: nothing to apply now");
                });
                assertThat(relay.isAlive()).as("SIGHUP's default action, exit, is replaced").isTrue();
                assertThat(open.command("NOOP")).as("an open session survives the reload").startsWith("250");
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(Loopback.HOST, port), 5000); // still accepting
            }
        } catch (AssertionError | IOException e) {
            System.out.println("relay log:\n" + Files.readString(log));
            throw e;
        } finally {
            relay.destroy();
            if (!relay.waitFor(20, TimeUnit.SECONDS)) {
                relay.destroyForcibly();
            }
        }
    }
}
