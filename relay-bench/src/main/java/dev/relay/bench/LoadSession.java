package dev.relay.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/** One client session; returns the acceptance latency of each message it got a 250 for. */
final class LoadSession {
    private final LoadGenerator.Options o;
    private final byte[] body;
    private final LongAdder accepted;
    private final LongAdder failed;
    private final Map<String, Long> errors;
    private final Pacing pacing; // null: as fast as possible
    private final int index;
    private final PacedStart start;
    private final AtomicLong worstLate;
    private final List<Long> envelope = new ArrayList<>();
    private final List<Long> acceptedLatencies = new ArrayList<>();
    private InputStream in;
    private OutputStream out;

    LoadSession(LoadGenerator.Options o, byte[] body, LongAdder accepted, LongAdder failed, Map<String, Long> errors,
            Pacing pacing, int index, PacedStart start, AtomicLong worstLate) {
        this.o = o;
        this.body = body;
        this.accepted = accepted;
        this.failed = failed;
        this.errors = errors;
        this.pacing = pacing;
        this.index = index;
        this.start = start;
        this.worstLate = worstLate;
    }

    /** The acceptance latencies (end of DATA to 250) this session measured. */
    long[] acceptanceLatencies() {
        return acceptedLatencies.stream().mapToLong(Long::longValue).toArray();
    }

    /** The envelope round trips (MAIL to 354) this session measured. */
    long[] envelopeLatencies() {
        return envelope.stream().mapToLong(Long::longValue).toArray();
    }

    long[] call() throws Exception {
        List<Long> lat = acceptedLatencies;
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress(o.host(), o.port()), 10_000);
            plain.setSoTimeout(60_000);
            plain.setTcpNoDelay(true);
            Socket s = o.tls().equals("implicit") ? tls(plain) : plain;
            attach(s);
            expect(read(), 220, "greeting");
            String ehlo = command("EHLO loadgen.example.com");
            if (o.tls().equals("starttls")) {
                expect(command("STARTTLS"), 220, "STARTTLS");
                s = tls(plain);
                attach(s);
                ehlo = command("EHLO loadgen.example.com");
            }
            if (o.user() != null) {
                String plainAuth = Base64.getEncoder().encodeToString(("\0" + o.user() + "\0" + o.password())
                        .getBytes(StandardCharsets.UTF_8));
                String r = command("AUTH PLAIN " + plainAuth);
                if (!r.startsWith("235") && !r.startsWith("250")) { // smtp-sink answers AUTH with 250
                    throw new IOException("AUTH refused: " + r.strip());
                }
            }
            boolean pipelining = ehlo.toUpperCase(Locale.ROOT).contains("PIPELINING");
            long origin = pacing == null ? 0 : start.arrive(this);
            String mail = "MAIL FROM:<" + o.from() + ">\r\n";
            String rcpt = "RCPT TO:<" + o.to() + ">\r\n";
            String data = "DATA\r\n";
            // with --pipeline-after-data yes (and PIPELINING, unpaced): the next message's MAIL, RCPT and DATA
            // go in one group with the end of this message's data, as RFC 2920 section 3.1 allows (message
            // content may be the first "command" of a group); otherwise each envelope waits for the 250
            boolean afterData = pipelining && pacing == null && o.pipelineAfterData();
            boolean envelopeSent = false; // the current message's MAIL/RCPT/DATA went with the previous data
            long e0 = 0;
            for (int m = 0; m < o.messages(); m++) {
                if (pacing != null) {
                    awaitDue(origin + pacing.dueNanos(index, m));
                }
                String r1, r2, r3;
                if (envelopeSent) {
                    r1 = read();
                    r2 = read();
                    r3 = read();
                } else if (pipelining) {
                    e0 = System.nanoTime();
                    write(mail + rcpt + data);
                    r1 = read();
                    r2 = read();
                    r3 = read();
                } else {
                    e0 = System.nanoTime();
                    r1 = command(mail.strip());
                    r2 = command(rcpt.strip());
                    r3 = command(data.strip());
                }
                envelope.add(System.nanoTime() - e0);
                envelopeSent = false;
                if (!r1.startsWith("250") || !r2.startsWith("250") || !r3.startsWith("354")) {
                    fail(!r1.startsWith("250") ? r1 : !r2.startsWith("250") ? r2 : r3);
                    if (r3.startsWith("354")) {
                        write(".\r\n");
                        read();
                    }
                    command("RSET");
                    continue;
                }
                out.write(body);
                out.write(".\r\n".getBytes(StandardCharsets.US_ASCII));
                if (afterData && m + 1 < o.messages()) {
                    out.write((mail + rcpt + data).getBytes(StandardCharsets.US_ASCII));
                    envelopeSent = true;
                }
                out.flush();
                long t0 = System.nanoTime();
                e0 = t0;
                String r = read();
                long t = System.nanoTime() - t0;
                if (r.startsWith("250")) {
                    accepted.increment();
                    lat.add(t);
                } else {
                    fail(r);
                }
            }
            command("QUIT");
        }
        return acceptanceLatencies();
    }

    /** Sleeps until {@code due} (nanoTime) unless it has passed; records how late the send is. */
    private void awaitDue(long due) {
        long now;
        while ((now = System.nanoTime()) < due) {
            LockSupport.parkNanos(due - now);
        }
        long late = now - due;
        worstLate.accumulateAndGet(late, Math::max);
    }

    private void fail(String reply) {
        failed.increment();
        String key = (reply.length() >= 3 ? reply.substring(0, Math.min(reply.length(), 9)).strip() : reply)
                .replace(' ', '_');
        errors.merge(key, 1L, Long::sum);
    }

    private Socket tls(Socket plain) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {new TrustAll()}, new SecureRandom());
        SSLSocket ssl = (SSLSocket) ctx.getSocketFactory().createSocket(plain, o.host(), o.port(), true);
        ssl.setUseClientMode(true);
        ssl.startHandshake();
        return ssl;
    }

    private void attach(Socket s) throws IOException {
        in = new BufferedInputStream(s.getInputStream(), 8192);
        out = new BufferedOutputStream(s.getOutputStream(), 65536);
    }

    private void write(String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private String command(String line) throws IOException {
        write(line + "\r\n");
        return read();
    }

    /** Reads one whole reply (all continuation lines); returns it with CRLF line ends. */
    private String read() throws IOException {
        StringBuilder reply = new StringBuilder();
        while (true) {
            StringBuilder line = new StringBuilder();
            int b;
            while ((b = in.read()) != -1 && b != '\n') {
                line.append((char) b);
            }
            if (b == -1) {
                throw new IOException("connection closed; last reply: " + reply + line);
            }
            reply.append(line).append('\n');
            if (line.length() < 4 || line.charAt(3) != '-') {
                return reply.toString();
            }
        }
    }

    private static void expect(String reply, int code, String what) throws IOException {
        if (!reply.startsWith(Integer.toString(code))) {
            throw new IOException(what + ": " + reply.strip());
        }
    }

    /** Benchmarks only: the servers under test use self-signed certificates. */
    private static final class TrustAll implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
