package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.server.setup.DemoSetup;
import dev.relay.server.sink.CaptureSink;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher, bin/relay, as operators run it: `serve` end to end on the demo's files with ports of its own, and
 * what it says when it finds no Java runtime >= 21. The first needs the jars of `mvn package` (relay-server/target),
 * so it runs in `mvn verify`, where relay-server is packaged before these tests.
 */
class LauncherTest {
    private static final Path ROOT = projectRoot();
    private static final Path LAUNCHER = ROOT.resolve("bin/relay");
    /** The demo defaults' fixed ports: a test never binds them (a developer's relay may be running). */
    private static final Set<Integer> DEMO_PORTS = Set.of(2465, 2525, 2587, 9090);

    @TempDir
    Path dir;

    private static Path projectRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("bin/relay")) && Files.isDirectory(p.resolve("relay-server"))) {
                return p;
            }
        }
        throw new IllegalStateException("no project root with bin/relay above " + Path.of("").toAbsolutePath());
    }

    /** Four distinct free loopback ports, none of the demo's. */
    private static List<Integer> freePorts() {
        Set<Integer> ports = new LinkedHashSet<>();
        while (ports.size() < 4) {
            int p = Loopback.freePort();
            if (!DEMO_PORTS.contains(p)) {
                ports.add(p);
            }
        }
        return List.copyOf(ports);
    }

    /** bin/relay with {@code args}, with no RELAY_* variable from the environment of the build. */
    private static ProcessBuilder launcher(String... args) {
        ProcessBuilder pb = new ProcessBuilder(Stream.concat(Stream.of(LAUNCHER.toString()), Stream.of(args))
                .toList());
        pb.environment().keySet().removeIf(k -> k.startsWith("RELAY_"));
        return pb;
    }

    /**
     * `bin/relay serve --config FILE`: the demo's configuration (DemoSetup's certificate, users file and capture
     * sink) on random ports, since the demo's own are fixed. Ready on /readyz, a message submitted with curl as in
     * the README's quick start (STARTTLS + AUTH) reaches the outbox, and SIGTERM stops it cleanly: exit status 143
     * (the JVM's after its shutdown hooks ran), the stop logged, nothing left in the queue.
     */
    @Test
    void serveRelaysAMessageEndToEndAndStopsCleanlyOnSigterm() throws Exception {
        Path curl = RequiredTool.find("curl", "Debian: apt-get install curl");
        List<Integer> p = freePorts();
        DemoSetup.Ports ports = new DemoSetup.Ports(p.get(0), p.get(1), p.get(2), p.get(3));
        Path data = dir.resolve("data");
        DemoSetup demo = DemoSetup.prepare(data, ports);
        Path config = Files.writeString(dir.resolve("relay.yaml"), """
                listeners:
                  - { name: submission,  bind: "127.0.0.1:%d", tls: starttls }
                  - { name: submissions, bind: "127.0.0.1:%d", tls: implicit }
                tls: { cert: "%s", key: "%s" }
                auth: { users-file: "%s" }
                spool: { dir: "%s" }
                queue: { min-backoff: 10s }
                upstreams:
                  - name: demo-sink
                    url: "smtp://relay@127.0.0.1:%d"
                    password-file: "%s"
                    trust: "%s"
                admin: { bind: "127.0.0.1:%d" }
                """.formatted(ports.submission(), ports.submissions(), data.resolve("tls/cert.pem"),
                data.resolve("tls/key.pem"), data.resolve("users"), data.resolve("spool"), ports.sink(),
                data.resolve("sink-password"), data.resolve("tls/cert.pem"), ports.admin()));
        Path log = dir.resolve("relay.log");
        ProcessBuilder pb = launcher("serve", "--config", config.toString());
        pb.environment().put("RELAY_JAVA", ProcessHandle.current().info().command().orElseThrow());
        pb.environment().put("RELAY_CDS_ARCHIVE", dir.resolve("relay.jsa").toString()); // not next to the jars
        pb.environment().put("RELAY_JAVA_OPTS", "-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC");
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        try (CaptureSink sink = demo.startSink()) {
            Process relay = pb.start();
            try {
                await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100)).until(() -> {
                    if (!relay.isAlive()) {
                        throw new AssertionError("bin/relay serve exited with " + relay.exitValue() + ":\n"
                                + RelayProcess.tail(log));
                    }
                    return readyz(http, ports.admin()) == 200;
                });

                Process submit = new ProcessBuilder(curl.toString(), "--silent", "--show-error", "--max-time", "60",
                        "--ssl-reqd", "--user", "demo:" + demo.demoPassword(), "--mail-from", "a@example.com",
                        "--mail-rcpt", "b@example.com", "--upload-file", data.resolve("sample.eml").toString(),
                        "smtp://127.0.0.1:" + ports.submission(), "-k").redirectErrorStream(true).start();
                String said = new String(submit.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(submit.waitFor(90, TimeUnit.SECONDS)).as("curl finished").isTrue();
                assertThat(submit.exitValue()).as("curl said: %s", said).isZero();
                await().atMost(Duration.ofSeconds(60)).until(() -> outbox(demo).size() == 1);
                assertThat(Files.readString(outbox(demo).get(0))).contains("X-Sink-Envelope-From: <a@example.com>",
                        "X-Sink-Envelope-To: <b@example.com>", "Subject: hello from relay");

                relay.destroy(); // SIGTERM, to the JVM itself: the launcher execs java
                assertThat(relay.waitFor(60, TimeUnit.SECONDS)).as("exited within 60 s of SIGTERM").isTrue();
                String text = Files.readString(log);
                assertThat(relay.exitValue()).as("exit status after SIGTERM; log:\n%s", text).isEqualTo(143);
                assertThat(text).contains("stopping (grace PT20S)", "stopped; queued messages stay in")
                        .doesNotContain(" ERROR ");
                for (String state : List.of("incoming", "active", "deferred")) {
                    try (Stream<Path> left = Files.list(data.resolve("spool").resolve(state))) {
                        assertThat(left).as("spool/%s after the stop", state).isEmpty();
                    }
                }
            } finally {
                if (relay.isAlive()) {
                    relay.destroyForcibly();
                    relay.waitFor(30, TimeUnit.SECONDS);
                    System.out.println("relay log (tail):\n" + RelayProcess.tail(log));
                }
            }
        }
    }

    private static int readyz(HttpClient http, int adminPort) throws InterruptedException {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/readyz"))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1; // not listening yet
        }
    }

    private static List<Path> outbox(DemoSetup demo) throws IOException {
        if (!Files.isDirectory(demo.outbox())) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(demo.outbox())) {
            return s.filter(f -> f.toString().endsWith(".eml")).toList();
        }
    }

    /**
     * Every place the launcher looks holds a Java 17 only: RELAY_JAVA and `java` on the PATH are programs that
     * answer `-XshowSettings` like a JDK 17 (no `release` file), JAVA_HOME and the one folder of
     * RELAY_JAVA_SEARCH_DIRS (in place of /usr/lib/jvm and the others) hold a runtime whose `release` file says
     * 17. Both `serve` and `--find-java` stop with status 1 and say what they need, each candidate tried with its
     * version, and the fix.
     */
    @Test
    void withoutAJavaRuntime21ItNamesEveryCandidateTriedAndTheFix() throws Exception {
        Path relayJava = fakeJava(dir.resolve("relay-java"), null); // dir/relay-java/bin/java
        Path javaHome = dir.resolve("home-jdk");
        fakeJava(javaHome, "17.0.12");
        Path pathDir = dir.resolve("path");
        Path pathJava = fakeJava(pathDir, null);
        Path jvms = Files.createDirectories(dir.resolve("jvms"));
        Path searched = fakeJava(jvms.resolve("jdk-17"), "17.0.2");

        String expected = String.join("\n",
                "relay: needs a Java runtime >= 21 and found none.",
                "  tried:",
                "    " + relayJava + " (17)",
                "    " + javaHome.resolve("bin/java") + " (17)",
                "    " + pathJava + " (17)",
                "    " + searched + " (17)",
                "  fix: install a JDK >= 21 (for example Temurin 21 or 25) or point JAVA_HOME (or RELAY_JAVA) at one.",
                "");
        for (String arg : List.of("serve", "--find-java")) {
            ProcessBuilder pb = launcher(arg);
            Map<String, String> env = pb.environment();
            env.put("RELAY_JAVA", relayJava.toString());
            env.put("JAVA_HOME", javaHome.toString());
            env.put("PATH", pathDir.resolve("bin") + ":/usr/bin:/bin");
            env.put("HOME", Files.createDirectories(dir.resolve("home")).toString());
            env.put("RELAY_JAVA_SEARCH_DIRS", jvms.toString());
            Process p = pb.start();
            p.getOutputStream().close();
            String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String stderr = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("bin/relay %s finished", arg).isTrue();
            assertThat(p.exitValue()).as("bin/relay %s exit status; stderr:\n%s", arg, stderr).isEqualTo(1);
            assertThat(stderr).as("bin/relay %s", arg).isEqualTo(expected);
            assertThat(stdout).as("bin/relay %s", arg).isEmpty();
        }
    }

    /**
     * RELAY_JAVA_SEARCH_DIRS lists folders of JDKs, searched in order after RELAY_JAVA, JAVA_HOME and the PATH: a
     * JDK >= 21 in its second folder is found past a 17 in its first.
     */
    @Test
    void searchDirsAreFoldersOfJdksSearchedInOrder() throws Exception {
        Path real = Path.of(ProcessHandle.current().info().command().orElseThrow()).toRealPath().getParent()
                .getParent(); // the JDK running this test (>= 21)
        Path pathDir = dir.resolve("path");
        fakeJava(pathDir, null);
        Path old = Files.createDirectories(dir.resolve("old"));
        fakeJava(old.resolve("jdk-17"), "17.0.2");
        Path current = Files.createDirectories(dir.resolve("current"));
        Files.createSymbolicLink(current.resolve("jdk"), real);

        ProcessBuilder pb = launcher("--find-java");
        pb.environment().remove("JAVA_HOME");
        pb.environment().put("PATH", pathDir.resolve("bin") + ":/usr/bin:/bin");
        pb.environment().put("RELAY_JAVA_SEARCH_DIRS", old + "::" + current);
        try {
            Process p = pb.redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as("bin/relay --find-java said: %s", out).isZero();
            assertThat(out).isEqualTo(current.resolve("jdk/bin/java") + "\n");
        } finally {
            Files.delete(current.resolve("jdk")); // the link only, before @TempDir's clean-up warns about it
        }
    }

    /**
     * `serve` gets the Serial collector and a heap of half the memory, at most 768 MiB, from 24 MiB; an operator's
     * own choice of collector or heap in RELAY_JAVA_OPTS (or JAVA_TOOL_OPTIONS) replaces that part; other commands
     * get neither. A stand-in java prints the arguments it was given.
     */
    @Test
    void serveGetsTheMeasuredCollectorAndHeapUnlessTheOperatorChoseTheirOwn() throws Exception {
        Path home = dir.resolve("echo-java");
        Path java = Files.createDirectories(home.resolve("bin")).resolve("java");
        Files.writeString(java, "#!/bin/sh\necho \"$*\"\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(home.resolve("release"), "JAVA_VERSION=\"25.0.1\"\n");
        String defaults = "-XX:+UseSerialGC -XX:MaxRAMPercentage=50 -XX:MinRAMPercentage=50 "
                + "-XX:ErgoHeapSizeLimit=768m -Xms24m";

        assertThat(echoed(java, Map.of(), "serve", "--config", "x.yaml")).contains(defaults);
        String g1 = echoed(java, Map.of("RELAY_JAVA_OPTS", "-XX:+UseG1GC"), "serve");
        assertThat(g1).doesNotContain("UseSerialGC").contains("-XX:ErgoHeapSizeLimit=768m -Xms24m -XX:+UseG1GC");
        String sized = echoed(java, Map.of("JAVA_TOOL_OPTIONS", "-Xmx2g"), "serve");
        assertThat(sized).contains("-XX:+UseSerialGC").doesNotContain("RAMPercentage", "ErgoHeapSizeLimit", "-Xms24m");
        assertThat(echoed(java, Map.of(), "sink", "--bind", "127.0.0.1:1")).doesNotContain("UseSerialGC", "-Xms24m");

        // the real JVM takes them: Serial, at most 768 MiB whatever this machine has
        ProcessBuilder pb = launcher("serve");
        pb.environment().put("RELAY_JAVA", ProcessHandle.current().info().command().orElseThrow());
        pb.environment().put("RELAY_JAVA_OPTS", "-XX:+PrintFlagsFinal -version");
        pb.environment().put("RELAY_CDS_ARCHIVE", ""); // no class archive written by a JVM that only printed flags
        Process p = pb.redirectErrorStream(true).start();
        String flags = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(flags).containsPattern("bool UseSerialGC +?= true").containsPattern("InitialHeapSize += 25165824 ");
        Matcher max = Pattern.compile("MaxHeapSize += (\\d+) ").matcher(flags);
        assertThat(max.find()).as(flags).isTrue();
        assertThat(Long.parseLong(max.group(1))).isBetween(16L << 20, 768L << 20);
    }

    private String echoed(Path java, Map<String, String> env, String... args) throws Exception {
        ProcessBuilder pb = launcher(args);
        pb.environment().put("RELAY_JAVA", java.toString());
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        pb.environment().putAll(env);
        Process p = pb.redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    /**
     * A stand-in for a Java 17 runtime at {@code home}/bin/java: with {@code release}, a `release` file that says
     * so (the launcher reads it and does not run the program); without, none, and the program answers
     * `-XshowSettings:properties -version` as a JDK 17 does.
     */
    private static Path fakeJava(Path home, String release) throws IOException {
        Path bin = Files.createDirectories(home.resolve("bin"));
        Path java = bin.resolve("java");
        Files.writeString(java, """
                #!/bin/sh
                echo 'Property settings:' >&2
                echo '    java.specification.version = 17' >&2
                echo '    java.version = 17.0.12' >&2
                echo 'openjdk version "17.0.12" 2024-07-16' >&2
                exit 0
                """);
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        if (release != null) {
            Files.writeString(home.resolve("release"), "IMPLEMENTOR=\"Fake\"\nJAVA_VERSION=\"" + release + "\"\n");
        }
        return java;
    }
}
