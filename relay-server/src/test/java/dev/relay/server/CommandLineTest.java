package dev.relay.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.core.auth.UsersFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CommandLineTest {
    @TempDir
    Path dir;

    private static CliRun run(String stdin, String... args) {
        return CliRun.withInput(stdin, args);
    }

    @Test
    void versionNamesTheReleaseTheCommitAndTheJavaRuntime() {
        CliRun r = run("", "--version");
        assertThat(r.status()).isZero();
        String[] lines = r.out().strip().split("\\R");
        assertThat(lines).hasSize(3);
        assertThat(lines[0]).matches("relay \\d+\\.\\d+\\.\\d+\\S*"); // from the build, not a literal
        // a build from a git checkout names its commit; one without .git (the image's build context) says unknown
        assertThat(lines[1]).matches("commit: ([0-9a-f]{12}(-dirty)?|unknown)");
        if (Files.isDirectory(Path.of("..", ".git")) || Files.isRegularFile(Path.of("..", ".git"))) {
            assertThat(lines[1]).doesNotContain("unknown");
        }
        assertThat(lines[2]).startsWith("java: ").contains(System.getProperty("java.runtime.version"))
                .contains(System.getProperty("java.home"));
    }

    @Test
    void demoPortsThatAreNotFourDistinctPortsAreRefusedBeforeAnythingStarts() {
        CliRun r = run("", "serve", "--data-dir", dir.toString(), "--demo-ports", "12587,12465");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("is not four ports", "SUBMISSION,SUBMISSIONS,SINK,ADMIN");
        r = run("", "serve", "--data-dir", dir.toString(), "--demo-ports", "12587,12465,12525,70000");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("'70000' is not a port");
        r = run("", "serve", "--data-dir", dir.toString(), "--demo-ports", "12587,12465,12587,19090");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("repeats a port");
        assertThat(dir).isEmptyDirectory(); // refused before the demo wrote anything
    }

    @Test
    void demoPortsWithAConfigurationFileAreRefused() throws Exception {
        Path config = Files.writeString(dir.resolve("relay.yaml"), "hostname: x\n");
        CliRun r = run("", "serve", "--config", config.toString(), "--demo-ports", "12587,12465,12525,19090");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("--demo-ports applies to the demo defaults only");
    }

    @Test
    void passwdPrintsAUsersFileLineThatAuthenticates() throws Exception {
        CliRun r = run("s3cret\n", "passwd", "alice");
        assertThat(r.status()).isZero();
        assertThat(r.out()).startsWith("alice:$2y$10$").doesNotContain("s3cret");
        Path users = Files.writeString(dir.resolve("users"), r.out());
        assertThat(UsersFile.load(users).authenticate("alice", "s3cret")).isTrue();
    }

    @Test
    void passwdWithoutInputFailsClearly() {
        CliRun r = run("", "passwd", "alice");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).contains("no password on standard input");
    }

    @Test
    void checkConfigPrintsTheEffectiveConfigurationWithSecretsMasked() throws Exception {
        Path users = Files.writeString(dir.resolve("users"), UsersFile.line("app", "pw".toCharArray()) + "\n");
        Path config = Files.writeString(dir.resolve("relay.yaml"), """
                listeners:
                  - { name: local, bind: "127.0.0.1:10999", tls: none }
                auth: { users-file: "%s" }
                spool: { dir: "%s" }
                upstreams:
                  - { name: primary, url: "smtp://apikey@smtp.example.net:587", password: "very-secret-key" }
                """.formatted(users, dir.resolve("spool")));
        CliRun r = run("", "check-config", config.toString());
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("smtp.example.net", "****").doesNotContain("very-secret-key");
        assertThat(r.err()).contains("configuration OK").doesNotContain("very-secret-key");
    }

    @Test
    void checkConfigNamesTheKeyAndTheFixForEachProblem() throws Exception {
        Path config = Files.writeString(dir.resolve("relay.yaml"), """
                listeners:
                  - { name: submission, bind: "0.0.0.0:587", tls: starttls }
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: /tmp/x }
                upstreams:
                  - { name: bad, url: "smtp://u@mail.example.net:25", password: "x" }
                """);
        CliRun r = run("", "check-config", config.toString());
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("upstreams[0].url",
                "port 25 is never used: use the provider's submission port 587, 465 or 2525", "tls.cert");
    }

    @Test
    void checkConfigReportsAUsersFileWithPlaintextPasswords() throws Exception {
        Path users = Files.writeString(dir.resolve("users"), "alice:hunter2\n");
        Path config = Files.writeString(dir.resolve("relay.yaml"), """
                listeners:
                  - { name: local, bind: "127.0.0.1:10999", tls: none }
                auth: { users-file: "%s" }
                spool: { dir: /tmp/x }
                upstreams:
                  - { name: primary, url: "smtp://u@smtp.example.net:587", password: "x" }
                """.formatted(users));
        CliRun r = run("", "check-config", config.toString());
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("auth.users-file", "no bcrypt hash").doesNotContain("hunter2");
    }

    @Test
    void anyRelayVariableMeansConfigurationFromTheEnvironment() {
        assertThat(dev.relay.server.setup.ConfigSource.hasRelayVariables(Map.of("RELAY_SPOOL_DIR", "/x"))).isTrue();
        assertThat(dev.relay.server.setup.ConfigSource.hasRelayVariables(Map.of("RELAY_SPOL_DIR", "/x"))).isTrue();
        assertThat(dev.relay.server.setup.ConfigSource.hasRelayVariables(Map.of("RELAY_JAVA", "/usr/bin/java", "HOME", "/root")))
                .isFalse();
        assertThat(dev.relay.server.setup.ConfigSource.hasRelayVariables(Map.of("RELAY_JAVA_SEARCH_DIRS", "/opt/jdks")))
                .as("a launcher variable keeps the demo defaults").isFalse();
    }

    @Test
    void queueCommandSaysClearlyWhenTheRelayIsNotRunning() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        CliRun r = run("", "queue", "--admin", "http://127.0.0.1:" + port, "list");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("cannot connect to http://127.0.0.1:" + port, "is the relay running?");
    }

    @Test
    void queueRetryNeedsAnIdOrAll() {
        CliRun r = run("", "queue", "retry");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("give either an ID or --all");
    }

    @Test
    void serveIsBuiltAloneAndReadsAsInTheWholeTree() {
        picocli.CommandLine alone = Main.commandLine(new String[] {"serve", "--bogus"});
        assertThat(alone.getSubcommands().keySet()).containsExactly("serve");
        picocli.CommandLine whole = Main.commandLine(new String[] {"--help"});
        assertThat(whole.getSubcommands().keySet()).containsExactly("serve", "sink", "passwd", "check-config",
                "queue", "history", "trace", "dkim-record", "doctor");
        assertThat(alone.getSubcommands().get("serve").getUsageMessage())
                .startsWith("Usage: relay serve ")
                .isEqualTo(whole.getSubcommands().get("serve").getUsageMessage());
        assertThat(errorOf(alone, "serve", "--bogus")).contains("Unknown option: '--bogus'")
                .isEqualTo(errorOf(Main.commandLine(), "serve", "--bogus"));
        assertThat(Main.commandLine(new String[] {"serves"}).getSubcommands()).hasSize(9); // a typo: the whole tree
    }

    private static String errorOf(picocli.CommandLine cl, String... args) {
        java.io.StringWriter err = new java.io.StringWriter();
        cl.setErr(new java.io.PrintWriter(err));
        assertThat(cl.execute(args)).isEqualTo(2);
        return err.toString();
    }
}
