package dev.relay.core.delivery;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import java.util.function.Predicate;

/**
 * A fast fake smarthost on 127.0.0.1 for many connections and many messages (plaintext, for loopback): it counts
 * connections (total, at once, at most at once), transactions and RSETs, and answers MAIL with what the test says
 * (e.g. a throttling reply for the n-th message). With {@code pipelining} it announces PIPELINING and insists on
 * it: it reads MAIL, every RCPT and DATA before it answers any of them, so a client that waits for the MAIL reply
 * first times out. With {@code xoauth2} it announces AUTH XOAUTH2 and accepts the tokens the predicate accepts.
 */
final class SinkSmtpServer implements AutoCloseable {
    private final ServerSocket server;
    private final ExecutorService sessions = Executors.newVirtualThreadPerTaskExecutor();
    private final boolean pipelining;
    private final Predicate<String> xoauth2;
    private volatile IntFunction<String> mailReply = n -> "250 2.1.0 ok";
    final AtomicInteger connections = new AtomicInteger();
    final AtomicInteger current = new AtomicInteger();
    final AtomicInteger peak = new AtomicInteger();
    final AtomicInteger messages = new AtomicInteger();
    final AtomicInteger transactions = new AtomicInteger();
    final AtomicInteger rsets = new AtomicInteger();
    final AtomicInteger quits = new AtomicInteger();
    /** Decoded XOAUTH2 initial responses, in order. */
    final List<String> xoauth2Responses = new CopyOnWriteArrayList<>();
    /** Every command line (not message content), in arrival order across connections. */
    final List<String> commands = new CopyOnWriteArrayList<>();

    SinkSmtpServer(boolean pipelining) throws IOException {
        this(pipelining, null);
    }

    SinkSmtpServer(boolean pipelining, Predicate<String> xoauth2) throws IOException {
        this.pipelining = pipelining;
        this.xoauth2 = xoauth2;
        server = new ServerSocket(0, 100, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("sink-accept").start(this::acceptLoop);
    }

    /** The reply to the MAIL of the n-th transaction (0-based, counted across connections). */
    SinkSmtpServer mailReply(IntFunction<String> reply) {
        this.mailReply = reply;
        return this;
    }

    int port() {
        return server.getLocalPort();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                connections.incrementAndGet();
                peak.accumulateAndGet(current.incrementAndGet(), Math::max);
                sessions.execute(() -> session(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void session(Socket socket) {
        boolean ended = false;
        try (socket) {
            socket.setSoTimeout(20_000);
            socket.setTcpNoDelay(true); // else Nagle holds a second small reply for the client's delayed ACK
            InputStream in = new BufferedInputStream(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            write(out, "220 sink.test ESMTP");
            for (String line = read(in); line != null; line = read(in)) {
                commands.add(line);
                String upper = line.toUpperCase(java.util.Locale.ROOT);
                if (upper.startsWith("EHLO")) {
                    List<String> ext = new ArrayList<>(List.of("250-sink.test", "250-8BITMIME"));
                    if (pipelining) {
                        ext.add("250-PIPELINING");
                    }
                    if (xoauth2 != null) {
                        ext.add("250-AUTH LOGIN XOAUTH2");
                    }
                    ext.add("250 SIZE 100000000");
                    write(out, ext.toArray(String[]::new));
                } else if (upper.startsWith("AUTH XOAUTH2 ")) {
                    String decoded = new String(Base64.getDecoder().decode(line.substring(13).trim()),
                            StandardCharsets.UTF_8);
                    xoauth2Responses.add(decoded);
                    String token = decoded.replaceAll("(?s).*auth=Bearer ([^\u0001]*)\u0001.*", "$1");
                    if (xoauth2.test(token)) {
                        write(out, "235 2.7.0 accepted");
                    } else {
                        write(out, "334 " + Base64.getEncoder().encodeToString(
                                "{\"status\":\"401\",\"schemes\":\"bearer\"}".getBytes(StandardCharsets.UTF_8)));
                        read(in);
                        write(out, "535 5.7.3 token refused");
                    }
                } else if (upper.startsWith("MAIL FROM:")) {
                    transaction(in, out);
                } else if (upper.equals("RSET")) {
                    rsets.incrementAndGet();
                    write(out, "250 2.0.0 ok");
                } else if (upper.equals("QUIT")) {
                    quits.incrementAndGet();
                    // no longer counted as open before the 221: the client may open the next one once it has it
                    current.decrementAndGet();
                    ended = true;
                    write(out, "221 2.0.0 bye");
                    return;
                } else if (upper.equals("NOOP")) {
                    write(out, "250 ok");
                } else {
                    write(out, "502 5.5.2 not here");
                }
            }
        } catch (IOException e) {
            // the client went away
        } finally {
            if (!ended) {
                current.decrementAndGet();
            }
        }
    }

    /** After a MAIL line: RCPTs, DATA, content, all in lockstep or, with pipelining, the flight first. */
    private void transaction(InputStream in, OutputStream out) throws IOException {
        String mail = mailReply.apply(transactions.getAndIncrement());
        List<String> replies = new ArrayList<>();
        replies.add(mail);
        if (!pipelining) {
            write(out, mail);
            replies.clear();
            if (!mail.startsWith("2")) {
                return;
            }
        }
        while (true) {
            String line = read(in);
            if (line == null) {
                return;
            }
            commands.add(line);
            String upper = line.toUpperCase(java.util.Locale.ROOT);
            if (upper.startsWith("RCPT TO:")) {
                replies.add(mail.startsWith("2") ? "250 2.1.5 ok" : "503 5.5.1 sender first");
                if (!pipelining) {
                    write(out, replies.remove(replies.size() - 1));
                }
            } else if (upper.equals("DATA")) {
                boolean go = mail.startsWith("2");
                replies.add(go ? "354 go ahead" : "554 5.5.1 no valid recipients");
                write(out, replies.toArray(String[]::new)); // the whole flight's replies at once
                if (!go) {
                    return;
                }
                for (String content = read(in); content != null && !content.equals("."); content = read(in)) {
                    // discard
                }
                messages.incrementAndGet();
                write(out, "250 2.0.0 queued");
                return;
            } else {
                write(out, "503 5.5.1 bad sequence");
                return;
            }
        }
    }

    private static String read(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(128);
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            line.write(b);
        }
        if (b < 0 && line.size() == 0) {
            return null;
        }
        String s = line.toString(StandardCharsets.UTF_8);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    private static void write(OutputStream out, String... lines) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String l : lines) {
            sb.append(l).append("\r\n");
        }
        out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Override
    public void close() throws IOException {
        server.close();
        sessions.shutdownNow();
    }
}
