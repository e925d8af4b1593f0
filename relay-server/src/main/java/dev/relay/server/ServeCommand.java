package dev.relay.server;

import dev.relay.config.ConfigException;
import dev.relay.config.ConfigLoader;
import dev.relay.config.LoadedConfig;
import dev.relay.config.RelayConfig;
import dev.relay.server.setup.ConfigChoice;
import dev.relay.server.setup.DemoSetup;
import dev.relay.server.setup.HeapCheck;
import dev.relay.server.setup.Preflight;
import dev.relay.server.sink.CaptureSink;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Runs the relay.",
                "With --config, or RELAY_* environment variables, it runs that configuration; with neither it runs "
                        + "the built-in demo defaults: STARTTLS on 127.0.0.1:2587, implicit TLS on 127.0.0.1:2465, "
                        + "a capture smarthost on 127.0.0.1:2525 and the admin endpoint on 127.0.0.1:9090, all "
                        + "files under --data-dir."})
public final class ServeCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

    @Mixin
    ConfigChoice choice;

    @Option(names = "--demo-ports", paramLabel = "SUB,SUBS,SINK,ADMIN",
            description = "The demo defaults' ports, when 2587,2465,2525,9090 are taken: STARTTLS submission, "
                    + "implicit TLS submission, capture smarthost, admin (all on 127.0.0.1).")
    String demoPorts;

    static final String DEFAULT_LOG_FORMAT = "text";
    static final String DEFAULT_GRACE = "PT20S";

    @Option(names = "--log-format", paramLabel = "FORMAT", defaultValue = DEFAULT_LOG_FORMAT,
            description = "Log lines as text (default) or json (one object per line); also RELAY_LOG_FORMAT.")
    String logFormat; // applied by Main before logging starts

    @Option(names = "--grace", paramLabel = "DURATION", defaultValue = DEFAULT_GRACE,
            description = "How long a stop waits for sessions in a transaction and for deliveries (ISO-8601, "
                    + "default ${DEFAULT-VALUE}).")
    Duration grace;

    /**
     * SIGHUP runs {@code reload} (on the JDK's signal thread; a reload never throws). {@code sun.misc.Signal} is
     * the only way to catch it in Java; where it is missing or the signal is taken (e.g. by {@code -Xrs}) the
     * relay runs without it, and the files it reloads are still re-read when they change.
     */
    static void onSighup(Runnable reload) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> {
                log.info("SIGHUP: reloading");
                try {
                    reload.run();
                } catch (RuntimeException e) {
                    log.warn("reload failed: {}", e.toString());
                }
            });
        } catch (IllegalArgumentException | LinkageError e) {
            log.info("SIGHUP reload not available here: {}", e.toString());
        }
    }

    @Override
    public Integer call() throws Exception {
        Map<String, String> env = System.getenv();
        DemoSetup demo = null;
        DemoSetup.Ports ports = DemoSetup.Ports.DEFAULT;
        if (demoPorts != null) {
            if (choice.given(env)) {
                System.err.println("relay: --demo-ports applies to the demo defaults only; with --config or RELAY_* "
                        + "variables set the ports in listeners[*].bind and admin.bind");
                return 2;
            }
            try {
                ports = DemoSetup.Ports.parse(demoPorts);
            } catch (IllegalArgumentException e) {
                System.err.println("relay: " + e.getMessage());
                return 2;
            }
        }
        RelayConfig effective;
        try {
            if (choice.given(env)) {
                LoadedConfig loaded = ConfigLoader.load(choice.config(), env);
                loaded.warnings().forEach(w -> log.warn("configuration: {}", w));
                effective = loaded.config();
            } else {
                demo = DemoSetup.prepare(choice.dataDir(), ports);
                effective = demo.config();
            }
        } catch (ConfigException e) {
            System.err.println("relay: invalid configuration"
                    + (choice.config() == null ? "" : " in " + choice.config()) + ":");
            System.err.println(e.getMessage());
            return 2;
        }
        List<String> problems = Preflight.problems(effective);
        if (!problems.isEmpty()) {
            System.err.println("relay: cannot start:");
            problems.forEach(p -> System.err.println("  " + p));
            return 2;
        }
        Preflight.warnings(effective).forEach(w -> log.warn("configuration: {}", w));
        long maxHeap = Runtime.getRuntime().maxMemory();
        log.info(HeapCheck.summary(effective, maxHeap));
        HeapCheck.warning(effective, maxHeap).ifPresent(log::warn);
        CaptureSink sink = null;
        RelayServer server;
        try {
            sink = demo == null ? null : demo.startSink();
            server = demo == null ? RelayServer.start(effective, choice.config(), env) : RelayServer.start(effective);
            if (demo != null) {
                server.showDemoOutbox(demo.outbox());
            }
        } catch (Exception e) {
            if (sink != null) {
                sink.close();
            }
            System.err.println("relay: cannot start: " + e.getMessage()
                    + (e.getMessage() != null && e.getMessage().contains("in use") ? " (is another relay running?)"
                    : ""));
            log.debug("start failed", e);
            return 1;
        }
        CaptureSink startedSink = sink;
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("stopping (grace {})", grace);
            server.stop(grace);
            if (startedSink != null) {
                startedSink.close();
            }
            stopped.countDown();
            log.info("stopped; queued messages stay in {}", effective.spool().dir());
        }, "relay-shutdown"));
        onSighup(server::reload);
        if (demo != null) {
            System.out.println(demo.banner());
            System.out.flush();
        }
        stopped.await();
        return 0;
    }
}
