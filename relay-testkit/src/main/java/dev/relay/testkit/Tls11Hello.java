package dev.relay.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** A server that speaks only TLS 1.1: reads the client's hello, answers with a hand-made TLS 1.1 ServerHello. */
final class Tls11Hello {
    private Tls11Hello() {
    }

    /** What the client sent back: "alert" (it refused TLS 1.1), "closed" or "other". */
    static String answer(InputStream in, OutputStream out) throws IOException {
        byte[] header = in.readNBytes(5); // the client's hello record: type, version, length
        in.readNBytes(((header[3] & 0xff) << 8) | (header[4] & 0xff));
        ByteArrayOutputStream hello = new ByteArrayOutputStream();
        hello.write(new byte[] {0x03, 0x02}); // TLS 1.1
        hello.write(new byte[32]); // server random
        hello.write(0); // no session id
        hello.write(new byte[] {0x00, 0x2f}); // TLS_RSA_WITH_AES_128_CBC_SHA
        hello.write(0); // no compression
        byte[] body = hello.toByteArray();
        ByteArrayOutputStream record = new ByteArrayOutputStream();
        record.write(new byte[] {0x16, 0x03, 0x02, 0, (byte) (body.length + 4)});
        record.write(new byte[] {0x02, 0, 0, (byte) body.length});
        record.write(body);
        out.write(record.toByteArray());
        out.flush();
        int first = in.read();
        return first == 0x15 ? "alert" : first < 0 ? "closed" : "other";
    }
}
