package dev.relay.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A minimal plaintext SMTP client for loopback tests that need many messages fast: one connection, several
 * transactions, no TLS or AUTH (the relay trusts 127.0.0.1). Every reply is returned as {@code "<code> <text>"}.
 */
final class SimpleSmtpClient implements AutoCloseable {
    private final Socket socket;
    private final BufferedReader in;
    private final OutputStream out;

    SimpleSmtpClient(int port, int timeoutMillis) throws IOException {
        socket = new Socket();
        socket.connect(new InetSocketAddress(Loopback.HOST, port), timeoutMillis);
        socket.setSoTimeout(timeoutMillis);
        in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
        out = socket.getOutputStream();
        expect(reply(), 220);
        expect(command("EHLO client.test"), 250);
    }

    /**
     * Sends one message; returns the final reply to DATA (250 when queued). {@code body} is CRLF text without the
     * end-of-data line and without lines that start with a dot.
     */
    String send(String from, String to, String body) throws IOException {
        expect(command("MAIL FROM:<" + from + ">"), 250);
        expect(command("RCPT TO:<" + to + ">"), 250);
        expect(command("DATA"), 354);
        out.write((body + "\r\n.\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        String reply = reply();
        if (!reply.startsWith("2")) {
            expect(command("RSET"), 250); // as clients do: the server may keep the failed transaction's sender
        }
        return reply;
    }

    String command(String line) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return reply();
    }

    private String reply() throws IOException {
        StringBuilder text = new StringBuilder();
        while (true) {
            String line = in.readLine();
            if (line == null) {
                throw new IOException("connection closed by the server");
            }
            if (line.length() < 4 || line.charAt(3) == ' ') {
                return text.append(line).toString();
            }
            text.append(line).append('\n');
        }
    }

    private static void expect(String reply, int code) throws IOException {
        if (!reply.startsWith(Integer.toString(code))) {
            throw new IOException("expected " + code + ", got: " + reply);
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing a test connection
        }
    }
}
