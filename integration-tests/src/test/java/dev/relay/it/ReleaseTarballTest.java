package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The release tarball as a VM user gets it: unpacked into an empty directory and run with its own Java runtime,
 * with no JDK on the PATH and no JAVA_HOME, on the demo defaults (the README's quick start), one message relayed.
 */
class ReleaseTarballTest {
    /** What the launcher runs besides java: the coreutils it calls, and bash. Nothing else is on the PATH. */
    private static final List<String> TOOLS = List.of("bash", "dirname", "readlink", "sed", "head", "cksum", "stat",
            "cut", "rm", "mkdir");

    @TempDir
    Path tmp;

    Path home;
    Process relay;

    static Path tarball() throws IOException {
        Path target = Path.of("..", "relay-dist", "target").toAbsolutePath().normalize();
        try (Stream<Path> s = Files.list(target)) {
            return s.filter(p -> p.getFileName().toString().matches("relay-.*-linux-x86_64\\.tar\\.gz"))
                    .findFirst().orElseThrow(() -> new AssertionError("no release tarball in " + target
                            + ": relay-dist builds it in the package phase"));
        }
    }

    @BeforeEach
    void unpack() throws Exception {
        // relay-dist builds the release on Linux x86_64 only (its runtime is a native image of the JDK)
        assumeTrue(System.getProperty("os.name").equals("Linux") && System.getProperty("os.arch").equals("amd64"),
                "the release is built for Linux x86_64 only");
        Path tar = tarball();
        Process p = new ProcessBuilder("tar", "-xzf", tar.toString(), "-C", tmp.toString()).inheritIO().start();
        assertThat(p.waitFor()).isZero();
        try (Stream<Path> s = Files.list(tmp)) {
            home = s.filter(Files::isDirectory).findFirst().orElseThrow();
        }
        assertThat(home.getFileName().toString()).isEqualTo(tar.getFileName().toString().replace(".tar.gz", ""));
    }

    @AfterEach
    void stop() throws Exception {
        if (relay != null && relay.isAlive()) {
            relay.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** A process of the unpacked release with a bare environment: PATH holds only {@link #TOOLS}. */
    private ProcessBuilder launcher(String... args) throws IOException {
        return launcher(Map.of(), args);
    }

    /** The same with these variables besides PATH and HOME. */
    private ProcessBuilder launcher(Map<String, String> vars, String... args) throws IOException {
        Path bin = Files.createDirectories(tmp.resolve("path"));
        for (String tool : TOOLS) {
            Path link = bin.resolve(tool);
            if (!Files.exists(link)) {
                Path real = Stream.of("/usr/bin", "/bin").map(d -> Path.of(d, tool)).filter(Files::isExecutable)
                        .findFirst().orElseThrow(() -> new AssertionError("no " + tool + " in /usr/bin or /bin"));
                Files.createSymbolicLink(link, real);
            }
        }
        ProcessBuilder pb = new ProcessBuilder(Stream.concat(Stream.of(home.resolve("bin/relay").toString()),
                Stream.of(args)).toList());
        Map<String, String> env = pb.environment();
        env.clear();
        env.put("PATH", bin.toString());
        env.put("HOME", tmp.resolve("home").toString());
        env.putAll(vars);
        return pb.directory(tmp.toFile());
    }

    private String run(String... args) throws Exception {
        Process p = launcher(args).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    @Test
    void unpackedReleaseRunsOnItsOwnRuntimeAndRelaysAMessageOnTheDemoDefaults() throws Exception {
        Path runtimeJava = home.resolve("runtime/bin/java");
        assertThat(runtimeJava).isExecutable();
        assertThat(home.resolve("runtime/bin/jcmd")).doesNotExist(); // a runtime, not a JDK
        assertThat(home.resolve("lib/relay-server.jar")).isRegularFile();
        assertThat(home.resolve("etc/relay.yaml")).isRegularFile();
        assertThat(home.resolve("systemd/relay.service")).isRegularFile();
        assertThat(run("--find-java").strip()).isEqualTo(runtimeJava.toString());
        assertThat(run("--version")).contains("relay ", "commit: ", home.resolve("runtime").toString());
        // the example configuration shipped beside it is valid as it is
        assertThat(run("check-config", home.resolve("etc/relay.yaml").toString())).contains("configuration OK");

        int submission = Loopback.freePort();
        int admin = Loopback.freePort();
        String ports = submission + "," + Loopback.freePort() + "," + Loopback.freePort() + "," + admin;
        Path data = tmp.resolve("relay-data");
        Path log = tmp.resolve("relay.log");
        long t0 = System.nanoTime();
        // the JVM says where each class came from: the relay's own from the AOT cache the release build made
        Path classLog = tmp.resolve("class-load.log");
        relay = launcher(Map.of("RELAY_JAVA_OPTS", "-Xlog:class+load=info:file=" + classLog), "serve",
                "--data-dir", data.toString(), "--demo-ports", ports)
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest readyz = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/readyz"))
                .timeout(Duration.ofSeconds(2)).build();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20)).until(() -> {
            if (!relay.isAlive()) {
                throw new AssertionError("relay exited with " + relay.exitValue() + ":\n" + RelayProcess.tail(log));
            }
            try {
                return http.send(readyz, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            } catch (IOException e) {
                return false;
            }
        });
        System.out.printf("release tarball: start to /readyz 200 in %d ms%n",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));

        String password = Files.readString(data.resolve("demo-password")).strip();
        Loopback.submit(submission, Loopback.Tls.STARTTLS, "demo", password, "app@example.com", "b@example.com",
                "through the release", "relayed by the unpacked tarball");
        Path outbox = data.resolve("outbox");
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            if (!Files.isDirectory(outbox)) {
                return false;
            }
            try (Stream<Path> s = Files.list(outbox)) {
                return s.anyMatch(f -> {
                    try {
                        return f.toString().endsWith(".eml") && Files.readString(f).contains("through the release");
                    } catch (IOException e) {
                        return false;
                    }
                });
            }
        });

        // the runtime lists only the security providers it has: a TLS session does not make the JDK look for the
        // others over the class path, which made BouncyCastle's provider from its signed jar (build-dist.sh)
        assertThat(Files.readString(classLog)).contains("sun.security.ssl.SSLSocketImpl source:")
                .doesNotContain("org.bouncycastle.jce.provider.BouncyCastleProvider source:");
        assertThat(Files.readString(home.resolve("runtime/conf/security/java.security")))
                .contains("security.provider.1=SUN").doesNotContain("=SunPKCS11");

        // the history works on the release's own runtime (sqlite-jdbc's native library unpacked beside the file)
        String adminUrl = "http://127.0.0.1:" + admin;
        await().atMost(Duration.ofSeconds(20)).until(() -> run("history", "--admin", adminUrl, "--status",
                "delivered").contains("1 messages"));
        assertThat(run("history", "--admin", adminUrl)).contains("<app@example.com>", "b@example.com");
        assertThat(Files.readString(log)).doesNotContain("history: off");
        // its native library is the copy kept beside the history (made at the first start, loaded from there at
        // each), not one the driver unpacked anew
        assertThat(Files.readString(Path.of("/proc/" + relay.pid() + "/maps")))
                .contains(data.resolve("spool").toRealPath() + "/" + "sqlitejdbc-").doesNotContain("/sqlite-3");

        relay.destroy(); // SIGTERM, as systemd and Kubernetes stop it
        assertThat(relay.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(relay.exitValue()).as(RelayProcess.tail(log)).isIn(0, 143);
        assertThat(Files.readString(log)).contains("stopped; queued messages stay in");

        // (a runtime before Java 25 has no AOT cache: the build makes none, and the launcher keeps to AppCDS)
        String release = Files.readString(home.resolve("runtime/release"));
        int feature = Integer.parseInt(release.replaceAll("(?s).*JAVA_VERSION=\"(\\d+).*", "$1"));
        if (feature >= 25) {
            assertThat(home.resolve("lib/relay.aot")).as("the AOT cache of the release build").isRegularFile();
            assertThat(Files.readString(classLog)).contains("dev.relay.server.Main source: shared objects file",
                    "io.netty.channel.nio.NioIoHandler source: shared objects file")
                    .doesNotContain("dev.relay.server.Main source: shared objects file (top)"); // (AppCDS's)
            assertThat(classArchives()).as("no AppCDS archive beside the AOT cache").isEmpty();
        } else {
            assertThat(home.resolve("lib/relay.aot")).doesNotExist();
        }

        // a jar that is not the one the cache was made with (here: a newer time, as after a copy that does not
        // keep times): the launcher falls back to the AppCDS archive without a word from the JVM
        Path jar = home.resolve("lib/relay-server.jar");
        Files.setLastModifiedTime(jar, java.nio.file.attribute.FileTime.fromMillis(
                Files.getLastModifiedTime(jar).toMillis() + 60_000));
        Path log2 = tmp.resolve("relay2.log");
        Path classLog2 = tmp.resolve("class-load2.log");
        startUntilReady(Map.of("RELAY_JAVA_OPTS", "-Xlog:class+load=info:file=" + classLog2), data, ports, log2,
                http, readyz);
        assertThat(Files.readString(classLog2)).contains("dev.relay.server.Main source: file:");
        assertThat(Files.readString(log2)).doesNotContain("[aot]", "[cds]", "AOT cache");
        relay.destroy();
        assertThat(relay.waitFor(30, TimeUnit.SECONDS)).isTrue();

        // the class-data archive the first stop wrote next to the jars is the one the next start uses: counting
        // the archive itself in the jars' fingerprint once renamed (and so threw away) it at every start
        List<Path> archives = classArchives();
        assertThat(archives).hasSize(1);
        startUntilReady(Map.of(), data, ports, tmp.resolve("relay3.log"), http, readyz);
        assertThat(classArchives()).as("the archive of the first run, kept").isEqualTo(archives);
        relay.destroy();
        assertThat(relay.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }

    private void startUntilReady(Map<String, String> vars, Path data, String ports, Path log, HttpClient http,
                                 HttpRequest readyz) throws IOException {
        relay = launcher(vars, "serve", "--data-dir", data.toString(), "--demo-ports", ports)
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20)).until(() -> {
            try {
                return http.send(readyz, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            } catch (IOException e) {
                return false;
            }
        });
    }

    private List<Path> classArchives() throws IOException {
        try (Stream<Path> s = Files.list(home.resolve("lib"))) {
            return s.filter(p -> p.getFileName().toString().endsWith(".jsa")).sorted().toList();
        }
    }
}
