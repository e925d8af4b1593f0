package dev.relay.server;

import dev.relay.config.HostPort;
import dev.relay.core.tls.KeyMaterial;
import dev.relay.core.tls.Pem;
import dev.relay.core.tls.SelfSignedCertificate;
import dev.relay.server.receive.tls.ServerTls;
import dev.relay.server.sink.CaptureSink;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "sink", mixinStandardHelpOptions = true,
        description = {"Runs a capture smarthost: it accepts mail (STARTTLS offered, AUTH required when --user is "
                + "given) and writes each message as an .eml file into --dir. For testing a relay set-up."})
final class SinkCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--bind", paramLabel = "HOST:PORT", required = true, description = "Address to listen on.")
    String bind;

    @Option(names = "--dir", paramLabel = "DIR", required = true, description = "Where captured messages go.")
    Path dir;

    @Option(names = "--user", paramLabel = "USER", description = "Require AUTH with this user.")
    String user;

    @Option(names = "--password", paramLabel = "PASSWORD", description = "The password for --user.")
    String password;

    @Option(names = "--tls-cert", paramLabel = "PEM", description = "STARTTLS certificate chain (default: a "
            + "self-signed certificate for localhost and 127.0.0.1 made at start).")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "The key for --tls-cert.")
    Path tlsKey;

    @Override
    public Integer call() throws Exception {
        if ((user == null) != (password == null)) {
            throw new ParameterException(spec.commandLine(), "--user and --password go together");
        }
        if ((tlsCert == null) != (tlsKey == null)) {
            throw new ParameterException(spec.commandLine(), "--tls-cert and --tls-key go together");
        }
        HostPort hp;
        try {
            hp = HostPort.parse(bind);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--bind " + bind + ": " + e.getMessage());
        }
        KeyMaterial km = tlsCert != null ? Pem.readKeyMaterial(tlsCert, tlsKey)
                : SelfSignedCertificate.generate(List.of("localhost", "127.0.0.1", "::1"), Duration.ofDays(30));
        CaptureSink sink = new CaptureSink(hp, dir, user, password, new ServerTls(km));
        sink.start();
        System.out.println("relay sink: listening on " + hp + ", writing to " + dir.toAbsolutePath()
                + (user == null ? " (no AUTH required)" : " (AUTH required as " + user + ")"));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            sink.close();
            stopped.countDown();
        }, "sink-shutdown"));
        stopped.await();
        return 0;
    }
}
