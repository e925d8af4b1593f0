package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.relay.config.ConfigLoader;
import dev.relay.server.Main;
import dev.relay.server.RelayServer;
import dev.relay.testkit.TestUpstream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Issue #20's hand-off on scale-down, end to end: relay A (a child process, stopped with SIGTERM as Kubernetes
 * does) holds messages for an upstream that is down and hands them off through a round-robin stand-in for the
 * Service to relay B, past a peer that is itself stopping (it answers {@code 451 4.3.2}); B delivers each once to
 * its upstream and its history links each to A's queue id. A peer that refuses (5xx) leaves the messages in A's
 * spool, and the receiving side refuses loops, forged headers and hand-offs while it stops. {@code relay queue
 * handoff} hands off a running relay's queue through its admin API (the relay goes on delivering new mail) and a
 * stopped relay's spool directly.
 */
class HandoffScaleDownTest {
    private static final int MESSAGES = 200;
    private static final Pattern QUEUED = Pattern.compile("queued as (\\S+)");
    private static final Pattern MESSAGE_ID = Pattern.compile("(?m)^Message-ID: <(ho-[0-9]+)@relay\\.test>\r?$");

    @TempDir
    Path dir;

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    /** Relay B: STARTTLS and AUTH (user app), delivering to a test upstream of its own. */
    private record Peer(TestRelay setup, TestUpstream upstream, RelayServer relay) {
        String admin() {
            return "http://127.0.0.1:" + setup.adminPort;
        }
    }

    private Peer peer(String name) throws Exception {
        Path home = Files.createDirectories(dir.resolve(name));
        TestRelay setup = new TestRelay(home);
        TestUpstream upstream = TestUpstream.withStartTls(0, UpstreamTls.context(setup.material), (n, s) -> s.serve());
        open.add(upstream);
        RelayServer relay = RelayServer.start(setup.config("smtp://relay@127.0.0.1:" + upstream.port(), "secret",
                setup.cert, Duration.ofSeconds(1)));
        open.add(relay);
        return new Peer(setup, upstream, relay);
    }

    /** Relay A's configuration: its upstream is down; it hands off to {@code peerPort} as user app. */
    private Path configA(int port, int peerPort, Path trust, String extra) throws IOException {
        return configA(port, Loopback.freePort(), Loopback.freePort(), peerPort, trust, extra);
    }

    /** As above, delivering to {@code upstreamPort} (plain), its admin endpoint on {@code adminPort}. */
    private Path configA(int port, int upstreamPort, int adminPort, int peerPort, Path trust, String extra)
            throws IOException {
        Path password = Files.writeString(dir.resolve("handoff-password"), TestRelay.PASSWORD + "\n");
        return Files.writeString(dir.resolve("relay-a.yaml"), """
                hostname: relay-a
                listeners:
                  - { name: local, bind: "127.0.0.1:%d", tls: none }
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s", min-free-space: 0 }
                queue: { retry-delay: 1h }
                upstreams:
                  - { name: down, url: "smtp://127.0.0.1:%d", tls: none }
                admin: { bind: "127.0.0.1:%d" }
                handoff: { to: "smtp://127.0.0.1:%d", user: %s, password-file: "%s", trust: "%s", timeout: 60s }
                %s
                """.formatted(port, dir.resolve("spool-a"), upstreamPort, adminPort, peerPort,
                TestRelay.USER, password, trust, extra));
    }

    /** Submits {@code count} messages to A; returns A's queue ids. */
    private static List<String> submit(int port, int count) throws IOException {
        List<String> ids = new ArrayList<>();
        for (int start = 0; start < count; start += 50) { // the relay's limit of messages per connection is 100
          try (SimpleSmtpClient c = new SimpleSmtpClient(port, 20_000)) {
            for (int i = start; i < Math.min(count, start + 50); i++) {
                String reply = c.send("app@example.com", "user" + i + "@example.org", "Message-ID: <ho-" + i
                        + "@relay.test>\r\nSubject: hand-off " + i + "\r\n\r\nbody " + i);
                Matcher m = QUEUED.matcher(reply);
                assertThat(m.find()).as(reply).isTrue();
                ids.add(m.group(1));
            }
          }
        }
        return ids;
    }

    private static long spooled(Path spool) throws IOException {
        long n = 0;
        for (String state : List.of("incoming", "active", "deferred")) {
            n += count(spool, state);
        }
        return n;
    }

    private static long count(Path spool, String state) throws IOException {
        try (Stream<Path> files = Files.list(spool.resolve(state))) {
            return files.count();
        }
    }

    private static String run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        StringWriter out = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(new StringWriter()));
        cl.execute(args);
        return out.toString();
    }

    @Test
    void sigtermHandsOffEveryQueuedMessageOnceThroughTheServicePastAPeerThatIsStopping() throws Exception {
        Peer b = peer("b");
        TestUpstream stopping = TestUpstream.withStartTls(0, UpstreamTls.context(b.setup().material), (n, s) -> {
            s.dataReply = "451 4.3.2 This relay is stopping and takes no hand-off: try another replica";
            s.serve();
        });
        open.add(stopping);
        RoundRobin service = new RoundRobin(List.of(stopping.port(), b.setup().submissionPort));
        open.add(service);
        int port = Loopback.freePort();
        Path log = dir.resolve("relay-a.log");
        Process a = RelayProcess.start(configA(port, service.port(), b.setup().cert, ""), log, port, "--grace", "PT2S");
        List<String> ids;
        try {
            ids = submit(port, MESSAGES);
            long t0 = System.nanoTime();
            a.destroy(); // SIGTERM: the grace period's deliveries (none can succeed), then the hand-off
            assertThat(a.waitFor(120, TimeUnit.SECONDS)).as("relay A exited").isTrue();
            System.out.printf("handoff: relay A exited %d ms after SIGTERM (grace 2 s), %d messages handed off%n",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), MESSAGES);
        } finally {
            a.destroyForcibly();
        }
        String aLog = Files.readString(log);
        assertThat(aLog).as(RelayProcess.tail(log)).contains("handoff to smtp://127.0.0.1:" + service.port() + ": "
                + MESSAGES + " handed off, 0 refused");
        assertThat(spooled(dir.resolve("spool-a"))).as("A's spool after exit").isZero();
        assertThat(stopping.connections()).as("the stopping peer was asked and refused").isPositive();
        System.out.println("handoff: " + aLog.lines().filter(l -> l.contains("handoff to")).findFirst().orElse("")
                + "; the stopping peer's connections: " + stopping.connections());

        assertEachDeliveredOnce(b, MESSAGES);
        TestUpstream.Mail first = b.upstream().mails().stream().filter(m -> m.data().contains("<ho-0@relay.test>"))
                .findFirst().orElseThrow();
        assertThat(first.from()).isEqualTo("app@example.com");
        assertThat(first.to()).containsExactly("user0@example.org");
        assertThat(first.data()).contains("X-Relay-Handoff: id=" + ids.get(0) + "; received=", "from=relay-a; hop=1");

        // B's history finds the message by A's queue id and shows the hand-off
        await().atMost(Duration.ofSeconds(10)).until(() -> run("trace", "--admin", b.admin(), ids.get(0))
                .contains("handoff"));
        assertThat(run("trace", "--admin", b.admin(), ids.get(0))).contains("<ho-0@relay.test>", "delivered",
                "X-Relay-Handoff: id=" + ids.get(0), "from=relay-a");
        // and A's history (its file, A is gone) names B's queue id for it, which B's trace finds too
        String bId;
        try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("spool-a/history.db"));
             var rs = c.createStatement().executeQuery("SELECT status, upstream, upstream_id FROM message "
                     + "WHERE queue_id = '" + ids.get(0) + "'")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("delivered");
            assertThat(rs.getString(2)).isEqualTo("handoff");
            bId = rs.getString(3);
        }
        assertThat(bId).isNotNull();
        assertThat(run("trace", "--admin", b.admin(), bId)).contains("<ho-0@relay.test>", "handoff");
    }

    @Test
    void aPeerThatRefusesLeavesEveryMessageInTheSpoolAndTheCommandHandsThemOffLater() throws Exception {
        TestRelay material = new TestRelay(Files.createDirectories(dir.resolve("certs")));
        TestUpstream refusing = TestUpstream.withStartTls(0, UpstreamTls.context(material.material), (n, s) -> {
            s.dataReply = "554 5.4.6 Routing loop: handed off 4 times, more than the limit of 3";
            s.serve();
        });
        open.add(refusing);
        int port = Loopback.freePort();
        Path config = configA(port, refusing.port(), material.cert, "");
        RelayServer a = RelayServer.start(ConfigLoader.load(config, Map.of()).config());
        try {
            submit(port, 3);
        } finally {
            a.stop(Duration.ofSeconds(1));
        }
        assertThat(spooled(dir.resolve("spool-a"))).isEqualTo(3);
        assertThat(refusing.connections()).isPositive();

        // by hand, on the stopped relay's spool, to a peer that takes them
        Peer b = peer("b");
        CommandLine cl = new CommandLine(new Main());
        StringWriter out = new StringWriter();
        cl.setOut(new PrintWriter(out));
        int status = cl.execute("queue", "handoff", "--config", config.toString(), "--to",
                "smtp://127.0.0.1:" + b.setup().submissionPort, "--trust", b.setup().cert.toString());
        assertThat(status).as(out.toString()).isZero();
        assertThat(out.toString()).contains("handed off 3, refused by the peer 0", "kept in", ": 0");
        assertThat(spooled(dir.resolve("spool-a"))).isZero();
        await().atMost(Duration.ofSeconds(30)).until(() -> b.upstream().mails().size() == 3);
    }

    @Test
    void theReceivingRelayRefusesALoopAForgedHeaderAndAHandOffWhileItStops() throws Exception {
        Peer b = peer("b");
        String header = "X-Relay-Handoff: id=Q1; received=2026-12-04T10:00:00Z; from=relay-a; hop=";
        try (RawSmtp c = new RawSmtp(Loopback.HOST, b.setup().submissionPort, false)) {
            c.command("EHLO a.test");
            c.startTls();
            assertThat(c.authPlain(TestRelay.USER, TestRelay.PASSWORD)).startsWith("235");
            assertThat(send(c, header + "4")).startsWith("554 5.4.6");
            c.command("RSET");
            assertThat(send(c, header + "3")).startsWith("250");
        }
        // a trusted-network client without AUTH may not claim a hand-off
        TestRelay trusted = new TestRelay(Files.createDirectories(dir.resolve("c")));
        Path yaml = Files.writeString(dir.resolve("c.yaml"), """
                listeners: [ { name: local, bind: "127.0.0.1:%d", tls: none } ]
                auth: { trusted-networks: ["127.0.0.1/32"] }
                spool: { dir: "%s", min-free-space: 0 }
                upstreams: [ { name: down, url: "smtp://127.0.0.1:%d", tls: none } ]
                admin: { bind: "127.0.0.1:%d" }
                """.formatted(trusted.submissionPort, dir.resolve("spool-c"), Loopback.freePort(), trusted.adminPort));
        RelayServer c = RelayServer.start(ConfigLoader.load(yaml, Map.of()).config());
        open.add(c);
        try (SimpleSmtpClient client = new SimpleSmtpClient(trusted.submissionPort, 10_000)) {
            assertThat(client.send("app@example.com", "x@example.org", header + "1\r\nSubject: forged\r\n\r\nx"))
                    .startsWith("550 5.7.1");
        }
        // a relay that is stopping: the session in a transaction finishes, but a hand-off gets 451 4.3.2
        try (RawSmtp s = new RawSmtp(Loopback.HOST, b.setup().submissionPort, false)) {
            s.command("EHLO a.test");
            s.startTls();
            assertThat(s.authPlain(TestRelay.USER, TestRelay.PASSWORD)).startsWith("235");
            assertThat(s.command("MAIL FROM:<app@example.com>")).startsWith("250");
            assertThat(s.command("RCPT TO:<x@example.org>")).startsWith("250");
            assertThat(s.command("DATA")).startsWith("354");
            Thread stop = Thread.ofVirtual().start(() -> b.relay().stop(Duration.ofSeconds(20)));
            await().atMost(Duration.ofSeconds(10)).until(() -> !b.relay().listeners().get(0).isRunning());
            s.send(header + "1\r\nSubject: late\r\n\r\nx\r\n.\r\n");
            assertThat(s.reply()).startsWith("451 4.3.2");
            s.command("QUIT");
            stop.join(Duration.ofSeconds(30));
            open.remove(b.relay()); // stopped already
        }
    }

    /**
     * {@code relay queue handoff} on a running relay: A runs, its upstream answers 451 so its messages are deferred;
     * the command finds A's spool locked and asks A through its admin API. The configured peer refuses (5xx), so
     * every message stays in A's care; then by hand to B, which gets each once, A's queue is empty, and A still
     * receives and delivers new mail itself afterwards.
     */
    @Test
    void theRunningRelayHandsOffItsDeferredMailByHandAndGoesOnDelivering() throws Exception {
        final int messages = 60;
        Peer b = peer("b");
        TestUpstream refusing = TestUpstream.withStartTls(0, UpstreamTls.context(b.setup().material), (n, s) -> {
            s.dataReply = "554 5.4.6 Routing loop: handed off 4 times, more than the limit of 3";
            s.serve();
        });
        open.add(refusing);
        AtomicBoolean down = new AtomicBoolean(true);
        TestUpstream upstreamA = TestUpstream.plain().dataReply(n -> down.get() ? "451 4.3.0 down for now" : null);
        open.add(upstreamA);
        int port = Loopback.freePort();
        String admin = "http://127.0.0.1:" + Loopback.freePort();
        Path spoolA = dir.resolve("spool-a");
        Path config = configA(port, upstreamA.port(), Integer.parseInt(admin.substring(admin.lastIndexOf(':') + 1)),
                refusing.port(), b.setup().cert, ""); // configured: the refusing peer; --to names B below
        RelayServer a = RelayServer.start(ConfigLoader.load(config, Map.of()).config());
        open.add(a);
        List<String> ids = submit(port, messages);
        await().atMost(Duration.ofSeconds(60)).until(() -> count(spoolA, "deferred") == messages);

        HistoryTraceTest.Run refused = HistoryTraceTest.run("queue", "--admin", admin, "handoff", "--config",
                config.toString());
        assertThat(refused.status()).as(refused.out() + refused.err()).isEqualTo(1);
        assertThat(refused.out()).contains("handed off 0, refused by the peer " + messages,
                "kept in the running relay", ": " + messages);
        assertThat(refusing.connections()).isPositive();
        assertThat(count(spoolA, "deferred")).isEqualTo(messages);
        assertThat(a.queue().queued()).isEqualTo(messages);
        // given back to the scheduler: operator actions apply again (none says "being delivered")
        assertThat(HistoryTraceTest.run("queue", "--admin", admin, "hold", ids.get(0)).status()).isZero();
        assertThat(HistoryTraceTest.run("queue", "--admin", admin, "release", ids.get(0)).status()).isZero();
        await().atMost(Duration.ofSeconds(30)).until(() -> count(spoolA, "deferred") == messages);

        long t0 = System.nanoTime();
        HistoryTraceTest.Run moved = HistoryTraceTest.run("queue", "--admin", admin, "handoff", "--config",
                config.toString(), "--to", "smtp://127.0.0.1:" + b.setup().submissionPort);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(moved.status()).as(moved.out() + moved.err()).isZero();
        assertThat(moved.out()).contains("handed off " + messages + ", refused by the peer 0, at the hop limit 0, "
                + "unfinished 0; kept in the running relay (" + spoolA + "): 0");
        System.out.printf("handoff by hand: %d messages from running relay A to B in %d ms%n", messages, ms);
        assertThat(spooled(spoolA)).isZero();
        assertThat(a.queue().queued()).isZero();
        assertEachDeliveredOnce(b, messages);
        assertThat(b.upstream().mails().get(0).data()).contains("X-Relay-Handoff: id=", "from=relay-a; hop=1");

        // A goes on: new mail is received and delivered by A's own upstream, not handed off
        down.set(false);
        submit(port, 1);
        await().atMost(Duration.ofSeconds(30)).until(() -> upstreamA.mails().size() == 1 && a.queue().queued() == 0);
        assertThat(upstreamA.mails().get(0).data()).contains("Message-ID: <ho-0@relay.test>")
                .doesNotContain("X-Relay-Handoff");
        assertThat(b.upstream().mails()).hasSize(messages);
    }

    @Test
    void aRunningRelayRefusesTrustItCannotUseAndABadPeerAndAStoppedOneHasItsSpoolOpened() throws Exception {
        Peer b = peer("b");
        int port = Loopback.freePort();
        int adminPort = Loopback.freePort();
        String admin = "http://127.0.0.1:" + adminPort;
        Path config = configA(port, Loopback.freePort(), adminPort, b.setup().submissionPort, b.setup().cert, "");
        RelayServer a = RelayServer.start(ConfigLoader.load(config, Map.of()).config());
        try {
            HistoryTraceTest.Run trust = HistoryTraceTest.run("queue", "--admin", admin, "handoff", "--config",
                    config.toString(), "--trust", b.setup().cert.toString());
            assertThat(trust.status()).isEqualTo(2);
            assertThat(trust.err()).contains("is running on", "drop --trust");
            HistoryTraceTest.Run bad = HistoryTraceTest.run("queue", "--admin", admin, "handoff", "--config",
                    config.toString(), "--to", "ftp://peer", "--timeout", "1m");
            assertThat(bad.status()).as(bad.out()).isEqualTo(2);
            assertThat(bad.err()).startsWith("relay queue: ").contains("unsupported scheme 'ftp'");
        } finally {
            a.stop(Duration.ofSeconds(1));
        }
        // stopped: the command opens the spool itself (nothing queued, nothing to hand off)
        HistoryTraceTest.Run stopped = HistoryTraceTest.run("queue", "handoff", "--config", config.toString());
        assertThat(stopped.status()).as(stopped.err()).isZero();
        assertThat(stopped.out()).contains("handed off 0", "kept in " + dir.resolve("spool-a") + ": 0");
    }

    /** B's upstream gets {@code messages} messages, each Message-ID once, and B's queue is empty. */
    private static void assertEachDeliveredOnce(Peer b, int messages) {
        await().atMost(Duration.ofSeconds(60)).until(() -> b.upstream().mails().size() >= messages
                && b.relay().queue().queued() == 0);
        Map<String, Long> byMessageId = b.upstream().mails().stream().map(m -> {
            Matcher m2 = MESSAGE_ID.matcher(m.data());
            return m2.find() ? m2.group(1) : "none";
        }).collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
        assertThat(byMessageId).hasSize(messages).allSatisfy((id, count) -> assertThat(count).as(id).isEqualTo(1));
    }

    private static String send(RawSmtp c, String header) throws IOException {
        c.command("MAIL FROM:<app@example.com>");
        c.command("RCPT TO:<x@example.org>");
        c.command("DATA");
        c.send(header + "\r\nSubject: hop\r\n\r\nx\r\n.\r\n");
        return c.reply();
    }

    /** A stand-in for the Kubernetes Service: each new connection goes to the next backend in turn. */
    private static final class RoundRobin implements AutoCloseable {
        private final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        private final AtomicInteger next = new AtomicInteger();
        private final List<Socket> sockets = new java.util.concurrent.CopyOnWriteArrayList<>();

        RoundRobin(List<Integer> backends) throws IOException {
            Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket client = server.accept();
                        Socket backend = new Socket(Loopback.HOST,
                                backends.get(next.getAndIncrement() % backends.size()));
                        sockets.add(client);
                        sockets.add(backend);
                        pipe(client, backend);
                        pipe(backend, client);
                    } catch (IOException e) {
                        return; // closed
                    }
                }
            });
        }

        private static void pipe(Socket from, Socket to) {
            Thread.ofVirtual().start(() -> {
                try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                    in.transferTo(out);
                } catch (IOException ignored) {
                    // one side closed
                } finally {
                    try {
                        to.close();
                        from.close();
                    } catch (IOException ignored) {
                        // closing
                    }
                }
            });
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : sockets) {
                s.close();
            }
        }
    }
}
