package dev.relay.testkit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiPredicate;
import java.util.function.Function;
import java.util.function.IntFunction;
import java.util.function.Predicate;
import javax.net.ssl.SSLContext;

/**
 * The smarthost of every module's tests: an SMTP server on loopback that accepts any number of connections and
 * runs a {@link Script} for each. The default script is {@link UpstreamSession#serve()}, a well-behaved server
 * (EHLO, STARTTLS when it has a certificate, AUTH PLAIN/LOGIN/XOAUTH2, MAIL/RCPT/DATA/RSET/NOOP/QUIT) whose
 * behaviour the settings below adjust; a script can also speak the protocol line by line for faults no real
 * server makes. Everything is recorded: accepted mails with their envelope, every line with whether TLS was on,
 * the commands outside message content, and counters of connections, transactions, RSETs and QUITs.
 *
 * <p>Settings are read by each new connection (a script may change its own session's copy before serving):
 * <pre>
 * try (TestUpstream up = TestUpstream.plain().pipelining(true).mailReply(n -&gt; n == 3 ? "421 4.7.0 slow down" : null)) {
 *     ... deliver to 127.0.0.1:up.port() ...
 *     assertThat(up.mails()).hasSize(5);
 * }
 * </pre>
 */
public final class TestUpstream implements AutoCloseable {
    /** What to do with one connection (numbered from 1). */
    public interface Script {
        void run(int connection, UpstreamSession session) throws Exception;
    }

    /** A message the upstream accepted with 250 after the final dot; {@code data} is un-dot-stuffed, CRLF lines. */
    public record Mail(int connection, String from, List<String> to, String mailLine, String data) {}

    /** A line the client sent, and whether the connection was under TLS then. */
    public record Line(int connection, boolean tls, String text) {}

    private final ServerSocket server;
    private final SSLContext startTls;
    private final Script script;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private final List<Throwable> failures = new CopyOnWriteArrayList<>();
    private final CountDownLatch firstScriptDone = new CountDownLatch(1);
    final List<Mail> mails = new CopyOnWriteArrayList<>();
    final List<Line> lines = new CopyOnWriteArrayList<>();
    final List<String> commands = new CopyOnWriteArrayList<>();
    final List<String> xoauth2Responses = new CopyOnWriteArrayList<>();
    final AtomicInteger connections = new AtomicInteger();
    final AtomicInteger current = new AtomicInteger();
    final AtomicInteger peak = new AtomicInteger();
    final AtomicInteger transactions = new AtomicInteger();
    final AtomicInteger rsets = new AtomicInteger();
    final AtomicInteger quits = new AtomicInteger();

    // settings each new session copies
    volatile String greeting = "upstream.test ESMTP";
    volatile String authReply = "235 2.7.0 Authentication successful";
    volatile boolean pipelining;
    volatile boolean eightBitMime = true;
    volatile boolean smtpUtf8;
    volatile String authMechanisms = "PLAIN LOGIN";
    volatile Predicate<String> xoauth2;
    volatile BiPredicate<String, String> credentials;
    volatile IntFunction<String> mailReply = n -> null;
    volatile Function<String, String> rcptReply = a -> null;
    volatile IntFunction<String> dataReply = n -> null;
    volatile List<String> extensions;
    volatile int soTimeoutMillis = 20_000;

    private TestUpstream(int port, SSLContext implicitTls, SSLContext startTls, Script script) throws IOException {
        this.startTls = startTls;
        this.script = script;
        InetAddress loopback = InetAddress.getLoopbackAddress();
        server = implicitTls == null ? new ServerSocket(port, 100, loopback)
                : implicitTls.getServerSocketFactory().createServerSocket(port, 100, loopback);
        Thread.ofVirtual().name("test-upstream-" + server.getLocalPort()).start(this::acceptLoop);
    }

    /** Plain SMTP, no STARTTLS offered, every connection served well. */
    public static TestUpstream plain() throws IOException {
        return new TestUpstream(0, null, null, (n, s) -> s.serve());
    }

    /** Plain SMTP running {@code script} for each connection. */
    public static TestUpstream scripted(Script script) throws IOException {
        return new TestUpstream(0, null, null, script);
    }

    /** STARTTLS offered with {@code context} (null: not offered), {@code script} for each connection. */
    public static TestUpstream withStartTls(SSLContext context, Script script) throws IOException {
        return new TestUpstream(0, null, context, script);
    }

    /**
     * The same on a given {@code port} (0: any free one): a test that simulates an outage reserves a port, lets the
     * relay fail against it, then starts the upstream there.
     */
    public static TestUpstream withStartTls(int port, SSLContext context, Script script) throws IOException {
        return new TestUpstream(port, null, context, script);
    }

    /** TLS from the first byte with {@code context}, {@code script} for each connection. */
    public static TestUpstream implicitTls(SSLContext context, Script script) throws IOException {
        return new TestUpstream(0, context, null, script);
    }

    /** The greeting's text after "220 " (a provider's own, say). */
    public TestUpstream greeting(String text) {
        greeting = text;
        return this;
    }

    /** The reply to AUTH PLAIN/LOGIN once the credentials are in (a provider's refusal, say), unless checked. */
    public TestUpstream authReply(String reply) {
        authReply = reply;
        return this;
    }

    /** Announces PIPELINING and insists on it: MAIL, every RCPT and DATA are read before any is answered. */
    public TestUpstream pipelining(boolean on) {
        pipelining = on;
        return this;
    }

    /** Announces 8BITMIME (default on). */
    public TestUpstream eightBitMime(boolean on) {
        eightBitMime = on;
        return this;
    }

    /** Announces SMTPUTF8 (default off). */
    public TestUpstream smtpUtf8(boolean on) {
        smtpUtf8 = on;
        return this;
    }

    /** The AUTH mechanisms announced, e.g. "LOGIN" (Microsoft 365's form); null announces no AUTH. */
    public TestUpstream authMechanisms(String mechanisms) {
        authMechanisms = mechanisms;
        return this;
    }

    /** Announces XOAUTH2 too and accepts the bearer tokens {@code accepted} accepts. */
    public TestUpstream xoauth2(Predicate<String> accepted) {
        xoauth2 = accepted;
        return this;
    }

    /** AUTH PLAIN/LOGIN succeeds only for the credentials {@code check} accepts (default: any). */
    public TestUpstream credentials(BiPredicate<String, String> check) {
        credentials = check;
        return this;
    }

    /** The reply to the MAIL of the n-th transaction (from 0, across connections); null: 250. */
    public TestUpstream mailReply(IntFunction<String> reply) {
        mailReply = reply;
        return this;
    }

    /**
     * The reply to the final dot of the n-th transaction (numbered as for {@link #mailReply}); null: 250. A message
     * refused here is not among {@link #mails()}.
     */
    public TestUpstream dataReply(IntFunction<String> reply) {
        dataReply = reply;
        return this;
    }

    /**
     * The EHLO keyword lines exactly as a provider sends them, in its order ("SIZE 157286400", "PIPELINING",
     * "AUTH LOGIN XOAUTH2"...); the session then behaves as they say (PIPELINING insisted on, the AUTH line's
     * mechanisms, 8BITMIME and SMTPUTF8). STARTTLS is only said while the upstream has a certificate and the
     * session is not under TLS yet. Null: the list the other settings build.
     */
    public TestUpstream extensions(String... lines) {
        extensions = lines == null ? null : List.of(lines);
        return this;
    }

    /** The reply to each RCPT address; null accepts it. */
    public TestUpstream rcptReply(Function<String, String> reply) {
        rcptReply = reply;
        return this;
    }

    /** How long a session waits for the client's next line before it ends (default 20 s). */
    public TestUpstream readTimeoutMillis(int millis) {
        soTimeoutMillis = millis;
        return this;
    }

    public int port() {
        return server.getLocalPort();
    }

    SSLContext startTlsContext() {
        return startTls;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                int n = connections.incrementAndGet();
                peak.accumulateAndGet(current.incrementAndGet(), Math::max);
                open.add(s);
                Thread.ofVirtual().name("test-upstream-session-" + n).start(() -> session(n, s));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void session(int n, Socket s) {
        UpstreamSession session = null;
        try (s) {
            s.setSoTimeout(soTimeoutMillis);
            s.setTcpNoDelay(true); // else Nagle holds a second small reply for the client's delayed ACK
            session = new UpstreamSession(this, n, s);
            script.run(n, session);
        } catch (Throwable t) {
            if (!server.isClosed()) {
                failures.add(t);
            }
        } finally {
            open.remove(s);
            if (session == null || !session.quit) {
                current.decrementAndGet();
            }
            if (n == 1) {
                firstScriptDone.countDown();
            }
        }
    }

    /** Waits (10 s at most) for the first connection's script to end, then throws what any script threw. */
    public void awaitScript() throws Throwable {
        if (!firstScriptDone.await(10, TimeUnit.SECONDS)) {
            throw new AssertionError("the first connection's script did not end within 10 s");
        }
        if (!failures.isEmpty()) {
            throw failures.get(0);
        }
    }

    /** What the scripts threw (a client hanging up mid-script shows here as an IOException). */
    public List<Throwable> failures() {
        return List.copyOf(failures);
    }

    public List<Mail> mails() {
        return List.copyOf(mails);
    }

    /** Mails whose data contains {@code text}. */
    public List<Mail> mailsWith(String text) {
        return mails.stream().filter(m -> m.data().contains(text)).toList();
    }

    /** Every line the client sent, content included. */
    public List<Line> lines() {
        return List.copyOf(lines);
    }

    /** The text of every line the client sent, content included, in arrival order. */
    public List<String> received() {
        return lines.stream().map(Line::text).toList();
    }

    /** Every command line (not message content), in arrival order across connections. */
    public List<String> commands() {
        return List.copyOf(commands);
    }

    /** The decoded XOAUTH2 initial responses, in order. */
    public List<String> xoauth2Responses() {
        return List.copyOf(xoauth2Responses);
    }

    public int connections() {
        return connections.get();
    }

    /** Connections open now (one that sent QUIT stops counting before its 221). */
    public int current() {
        return current.get();
    }

    /** The most connections open at once. */
    public int peak() {
        return peak.get();
    }

    /** Messages accepted. */
    public int messages() {
        return mails.size();
    }

    /** MAIL commands received. */
    public int transactions() {
        return transactions.get();
    }

    public int rsets() {
        return rsets.get();
    }

    public int quits() {
        return quits.get();
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : open) {
            s.close();
        }
    }
}
