package dev.relay.it;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Base64;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/** A raw SMTP client for the cases a real client library will not produce: exact bytes, pipelining, bare CR/LF. */
final class RawSmtp implements AutoCloseable {
    private Socket plain;
    private Socket socket;
    private InputStream in;
    private OutputStream out;
    final String greeting;

    RawSmtp(String host, int port, boolean implicitTls) throws Exception {
        this(host, port, implicitTls, 0);
    }

    /** @param receiveBuffer the socket's SO_RCVBUF, set before connecting (0: the system's default) */
    RawSmtp(String host, int port, boolean implicitTls, int receiveBuffer) throws Exception {
        plain = new Socket();
        if (receiveBuffer > 0) {
            plain.setReceiveBufferSize(receiveBuffer);
        }
        plain.connect(new InetSocketAddress(host, port), 5000);
        plain.setSoTimeout(10_000);
        socket = implicitTls ? wrap(plain, host, port) : plain;
        streams();
        greeting = reply();
    }

    private void streams() throws IOException {
        in = new BufferedInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    private static SSLSocket wrap(Socket plain, String host, int port) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, null);
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(plain, host, port, true);
        s.startHandshake();
        return s;
    }

    /** Sends STARTTLS, expects 220, and continues over TLS. */
    RawSmtp startTls() throws Exception {
        String r = command("STARTTLS");
        if (!r.startsWith("220")) {
            throw new IllegalStateException("STARTTLS refused: " + r);
        }
        socket = wrap(socket, "127.0.0.1", socket.getPort());
        streams();
        return this;
    }

    /** EHLO after STARTTLS, then AUTH PLAIN; returns the AUTH reply. */
    String authPlain(String user, String password) throws IOException {
        String token = Base64.getEncoder().encodeToString(("\0" + user + "\0" + password)
                .getBytes(StandardCharsets.UTF_8));
        return command("AUTH PLAIN " + token);
    }

    String command(String line) throws IOException {
        send(line + "\r\n");
        return reply();
    }

    void send(String raw) throws IOException {
        send(raw.getBytes(StandardCharsets.UTF_8));
    }

    /** Exact bytes, for what a string cannot carry (invalid UTF-8). */
    void send(byte[] raw) throws IOException {
        out.write(raw);
        out.flush();
    }

    /**
     * One read from the socket itself, past this client's buffer (which must be empty): over TLS, the data of one
     * record at most. Null if the connection closed.
     */
    String readOnce() throws IOException {
        if (in.available() > 0) {
            throw new IllegalStateException("bytes already buffered: read them with reply()");
        }
        byte[] b = new byte[16 * 1024];
        int n = socket.getInputStream().read(b);
        return n < 0 ? null : new String(b, 0, n, StandardCharsets.UTF_8);
    }

    /** One reply, all its lines joined with \n; null if the connection closed. */
    String reply() throws IOException {
        StringBuilder sb = new StringBuilder();
        while (true) {
            String line = line();
            if (line == null) {
                return sb.isEmpty() ? null : sb.toString();
            }
            if (!sb.isEmpty()) {
                sb.append('\n');
            }
            sb.append(line);
            if (line.length() < 4 || line.charAt(3) != '-') {
                return sb.toString();
            }
        }
    }

    private String line() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != -1) {
            if (b == '\n') {
                String s = buf.toString(StandardCharsets.UTF_8);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            buf.write(b);
        }
        return buf.size() == 0 ? null : buf.toString(StandardCharsets.UTF_8);
    }

    /** The socket now in use (the TLS one after STARTTLS). */
    Socket socket() {
        return socket;
    }

    /** Closes the TCP socket itself, without a TLS close (which waits for a write stuck on a full window). */
    void abort() throws IOException {
        plain.close();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
