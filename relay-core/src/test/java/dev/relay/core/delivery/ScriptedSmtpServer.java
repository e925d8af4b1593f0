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
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A fake SMTP server on 127.0.0.1 for faults real servers do not make: it accepts one connection and runs a
 * script against it, recording every line the client sent.
 */
final class ScriptedSmtpServer implements AutoCloseable {

    interface Script {
        void run(Conversation c) throws Exception;
    }

    private final ServerSocket server;
    private final Thread thread;
    private final List<String> received = new CopyOnWriteArrayList<>();
    private volatile Throwable failure;

    ScriptedSmtpServer(Script script) throws IOException {
        this(null, script);
    }

    /** With {@code implicitTls} non-null, TLS from the first byte. */
    ScriptedSmtpServer(SSLContext implicitTls, Script script) throws IOException {
        server = implicitTls == null ? new ServerSocket(0, 5, InetAddress.getLoopbackAddress())
                : implicitTls.getServerSocketFactory().createServerSocket(0, 5, InetAddress.getLoopbackAddress());
        thread = Thread.ofPlatform().daemon().name("scripted-smtp-" + server.getLocalPort()).start(() -> {
            try (Socket s = server.accept()) {
                s.setSoTimeout(10_000);
                script.run(new Conversation(s));
            } catch (Throwable t) {
                if (!server.isClosed()) {
                    failure = t;
                }
            }
        });
    }

    int port() {
        return server.getLocalPort();
    }

    /** The lines the client sent, CRLF removed (message content lines included). */
    List<String> received() {
        return received;
    }

    /** Waits for the script to end and fails if it failed. */
    void awaitScript() throws Throwable {
        thread.join(TimeUnit.SECONDS.toMillis(10));
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }

    final class Conversation {
        private Socket socket;
        private InputStream in;
        private OutputStream out;

        Conversation(Socket socket) throws IOException {
            use(socket);
        }

        private void use(Socket s) throws IOException {
            socket = s;
            in = new BufferedInputStream(s.getInputStream());
            out = s.getOutputStream();
        }

        void reply(String... lines) throws IOException {
            StringBuilder sb = new StringBuilder();
            for (String line : lines) {
                sb.append(line).append("\r\n");
            }
            out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        /** The next line from the client, or null at end of stream. */
        String read() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) >= 0 && b != '\n') {
                line.write(b);
            }
            if (b < 0 && line.size() == 0) {
                return null;
            }
            String s = line.toString(StandardCharsets.UTF_8);
            s = s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            received.add(s);
            return s;
        }

        String expect(String prefix) throws IOException {
            String line = read();
            if (line == null || !line.regionMatches(true, 0, prefix, 0, prefix.length())) {
                throw new AssertionError("expected " + prefix + " but the client sent " + line);
            }
            return line;
        }

        /** The content after 354, up to the terminating dot, un-dot-stuffed, lines joined with CRLF. */
        String readData() throws IOException {
            StringBuilder sb = new StringBuilder();
            for (String line = read(); ; line = read()) {
                if (line == null) {
                    throw new AssertionError("connection closed during DATA");
                }
                if (line.equals(".")) {
                    return sb.toString();
                }
                sb.append(line.startsWith(".") ? line.substring(1) : line).append("\r\n");
            }
        }

        /** The usual opening: greeting, EHLO with these extensions. */
        void hello(String... extensions) throws IOException {
            reply("220 fake.test ESMTP");
            expect("EHLO ");
            String[] lines = new String[extensions.length + 1];
            lines[0] = (extensions.length == 0 ? "250 " : "250-") + "fake.test hello";
            for (int i = 0; i < extensions.length; i++) {
                lines[i + 1] = (i == extensions.length - 1 ? "250 " : "250-") + extensions[i];
            }
            reply(lines);
        }

        void startTls(SSLContext context) throws IOException {
            SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(socket,
                    socket.getInetAddress().getHostAddress(), socket.getPort(), true);
            tls.setUseClientMode(false);
            tls.startHandshake();
            use(tls);
        }

        /** Waits until the client closes the connection. */
        void drain() throws IOException {
            while (read() != null) {
                // discard
            }
        }
    }
}
