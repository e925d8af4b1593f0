package dev.relay.server.sink;

import dev.relay.config.HostPort;
import dev.relay.server.receive.tls.ServerTls;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.MessageHandler;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.auth.EasyAuthenticationHandlerFactory;
import org.subethamail.smtp.auth.LoginFailedException;
import org.subethamail.smtp.server.SMTPServer;

/**
 * A capture smarthost for demos and tests: it offers STARTTLS, requires AUTH when credentials are set, and writes
 * each message it accepts as an {@code .eml} file (envelope in {@code X-Sink-Envelope-*} headers first) into its
 * directory. Files appear atomically: a reader never sees half a message.
 */
public final class CaptureSink implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CaptureSink.class);

    private final SMTPServer server;
    private final Path dir;
    private final AtomicLong count = new AtomicLong();
    private final Function<String, String> rejection;
    private final ExecutorService sessions = Executors.newVirtualThreadPerTaskExecutor();

    /**
     * @param user     required AUTH user, or null to accept without AUTH
     * @param password its password
     * @param tls      the STARTTLS certificate, or null for no STARTTLS
     */
    public CaptureSink(HostPort bind, Path dir, String user, String password, ServerTls tls) throws IOException {
        this(bind, dir, user, password, tls, recipient -> null);
    }

    /**
     * @param rejection for each RCPT address, null to accept it or the reply that refuses it, e.g.
     *                  {@code "550 5.1.1 no such user"} (for tests of failures and bounces)
     */
    public CaptureSink(HostPort bind, Path dir, String user, String password, ServerTls tls,
                       Function<String, String> rejection) throws IOException {
        this.dir = Files.createDirectories(dir);
        this.rejection = rejection;
        SMTPServer.Builder b = SMTPServer.port(bind.port())
                .bindAddress(InetAddress.getByName(bind.host()))
                .hostName("relay-sink")
                .softwareName("relay sink")
                .executorService(sessions)
                .connectionTimeout(2, TimeUnit.MINUTES)
                .messageHandlerFactory(ctx -> new Capture());
        if (tls != null) {
            b.enableTLS().startTlsSocketFactory(tls.startTls());
        }
        if (user != null) {
            byte[] expectedUser = user.getBytes(StandardCharsets.UTF_8);
            byte[] expectedPassword = password.getBytes(StandardCharsets.UTF_8);
            b.requireAuth().authenticationHandlerFactory(new EasyAuthenticationHandlerFactory((u, p, ctx) -> {
                boolean userOk = MessageDigest.isEqual(expectedUser, u.getBytes(StandardCharsets.UTF_8));
                boolean passwordOk = MessageDigest.isEqual(expectedPassword, p.getBytes(StandardCharsets.UTF_8));
                if (!(userOk & passwordOk)) {
                    throw new LoginFailedException();
                }
            }));
        }
        server = b.build();
    }

    public void start() throws IOException {
        try {
            server.start();
        } catch (RuntimeException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IOException("cannot listen on " + server.getBindAddress().map(Object::toString).orElse("*")
                    + ":" + server.getPort() + " (capture sink): " + cause.getMessage(), cause);
        }
        log.info("capture sink listening on {}:{}, writing to {}", server.getBindAddress().map(Object::toString)
                .orElse("*"), server.getPortAllocated(), dir);
    }

    public int port() {
        return server.getPortAllocated();
    }

    public long count() {
        return count.get();
    }

    private final class Capture implements MessageHandler {
        private String from;
        private final List<String> to = new ArrayList<>();

        @Override
        public void from(String from) {
            this.from = from;
        }

        @Override
        public void recipient(String recipient) throws RejectException {
            String refusal = rejection.apply(recipient);
            if (refusal != null) {
                throw new RejectException(Integer.parseInt(refusal.substring(0, 3)), refusal.substring(4));
            }
            to.add(recipient);
        }

        @Override
        public String data(InputStream data) throws RejectException, IOException {
            long n = count.incrementAndGet();
            String name = String.format("%d-%06d", System.currentTimeMillis(), n);
            Path tmp = dir.resolve("." + name + ".tmp");
            try (OutputStream out = Files.newOutputStream(tmp)) {
                String header = "X-Sink-Envelope-From: <" + from + ">\r\nX-Sink-Envelope-To: <"
                        + String.join(">, <", to) + ">\r\n";
                out.write(header.getBytes(StandardCharsets.UTF_8));
                data.transferTo(out);
            } catch (IOException e) {
                Files.deleteIfExists(tmp);
                throw e;
            }
            Files.move(tmp, dir.resolve(name + ".eml"), StandardCopyOption.ATOMIC_MOVE);
            log.info("sink: captured {}.eml from=<{}> nrcpt={}", name, from, to.size());
            return "2.0.0 Ok: captured as " + name;
        }

        @Override
        public void done() {}
    }

    @Override
    public void close() {
        Thread stopper = Thread.ofVirtual().start(server::stop);
        try {
            stopper.join(java.time.Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sessions.shutdownNow();
    }
}
