package dev.relay.it;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** The relay as a child process, as operators run it (`relay serve --config FILE`), for kill and signal tests. */
final class RelayProcess {
    private RelayProcess() {}

    /** The heap the relay gets unless a test says otherwise. */
    static final List<String> DEFAULT_JVM_OPTIONS = List.of("-Xmx256m");

    /** Starts `serve --config config` plus {@code args}, logging to {@code log}; returns once {@code port} accepts. */
    static Process start(Path config, Path log, int port, String... args) throws IOException {
        return start(DEFAULT_JVM_OPTIONS, config, log, port, args);
    }

    /**
     * The same with {@code jvmOptions} (e.g. a smaller {@code -Xmx}, a GC log) in place of
     * {@link #DEFAULT_JVM_OPTIONS}; the relay runs with the serial collector and the C1 compiler either way.
     */
    static Process start(List<String> jvmOptions, Path config, Path log, int port, String... args)
            throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(jvmOptions);
        command.addAll(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp",
                System.getProperty("java.class.path"), "dev.relay.server.Main", "serve", "--config",
                config.toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> {
            if (!p.isAlive()) {
                throw new IllegalStateException("relay exited with " + p.exitValue() + ":\n" + tail(log));
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(Loopback.HOST, port), 1000);
                return true;
            } catch (IOException e) {
                return false;
            }
        });
        return p;
    }

    /** The last 40 lines of the log, for failure messages. */
    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
