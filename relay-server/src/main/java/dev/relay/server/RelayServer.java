package dev.relay.server;

import dev.relay.config.LimitsConfig;
import dev.relay.config.ListenerConfig;
import dev.relay.config.QueueConfig;
import dev.relay.config.RelayConfig;
import dev.relay.config.RouteConfig;
import dev.relay.config.TlsMode;
import dev.relay.config.UpstreamConfig;
import dev.relay.core.auth.AuthThrottle;
import dev.relay.core.auth.ReloadingUsersFile;
import dev.relay.core.auth.UserQuotas;
import dev.relay.core.auth.UsersFileException;
import dev.relay.core.delivery.NettyDeliveryEngine;
import dev.relay.core.queue.QueueManager;
import dev.relay.core.routing.CircuitState;
import dev.relay.core.routing.RoutingEngine;
import dev.relay.core.queue.RetryPolicy;
import dev.relay.core.spool.Spool;
import dev.relay.core.spool.SpoolSettings;
import dev.relay.server.admin.AdminServer;
import dev.relay.server.admin.PrometheusConventions;
import dev.relay.server.logging.AddressMask;
import dev.relay.server.admin.RelayMetrics;
import dev.relay.server.admin.UpstreamMetrics;
import dev.relay.server.receive.FileWatch;
import dev.relay.server.receive.Inbound;
import dev.relay.server.receive.InboundListener;
import dev.relay.server.receive.Refusal;
import dev.relay.server.receive.tls.ServerCertificates;
import dev.relay.server.receive.tls.ServerTls;
import dev.relay.server.receive.SubmissionPolicy;
import dev.relay.server.setup.Preflight;
import dev.relay.server.setup.UpstreamTargets;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The wiring of one relay process, in start order: spool (with crash recovery), delivery engine, queue manager,
 * SMTP listeners, admin endpoint. {@link #close} undoes it in reverse: listeners first, so clients move elsewhere,
 * then deliveries, then the spool; everything queued stays on disk.
 */
public final class RelayServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RelayServer.class);
    private static final int MAX_CONCURRENT_DELIVERIES = 16;
    private static final Duration MAX_SESSION_RESERVE = Duration.ofSeconds(2);

    private final RelayConfig config;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final List<InboundListener> listeners = new ArrayList<>();
    private final FileWatch files = new FileWatch(FileWatch.DEFAULT_INTERVAL);
    private Spool spool;
    private SwappableEngine engine;
    private RelayMetrics metrics;
    private UpstreamMetrics upstreamMetrics;
    private dev.relay.history.HistoryRecorder history;
    private HistoryWiring.Opening openingHistory; // a start that fails before the history is started closes it
    private dev.relay.server.cluster.ClusterWiring cluster;
    private QueueManager queue;
    private AdminServer admin;
    private ReloadingUsersFile users;
    private Inbound inbound;
    private volatile ConfigReloader reloader;
    private volatile boolean stopping;
    private dev.relay.core.handoff.Handoff.Listener handoffs;
    private LiveHandoff live; // the hand-off by hand (POST /api/queue/handoff)

    private RelayServer(RelayConfig config) {
        this.config = config;
    }

    /**
     * Starts a relay whose configuration came from {@code file} (null: the environment alone) and {@code env}:
     * {@link #reload} reads them again, and a change of the file is reloaded within seconds.
     */
    public static RelayServer start(RelayConfig config, Path file, Map<String, String> env)
            throws Exception {
        RelayServer server = start(config);
        server.reloader = new ConfigReloader(file, env, config, server.new LiveParts(), server.registry);
        if (file != null) {
            server.files.watch("configuration file", server.reloader::reloadIfChanged);
        }
        return server;
    }

    /** What a configuration reload changes: the listeners' limits, the routes and the upstreams. */
    private final class LiveParts implements ConfigReloader.Target {
        @Override
        public void limits(LimitsConfig limits) {
            inbound.limits(limits);
        }

        @Override
        public void routes(List<RouteConfig> routes) {
            engine.current().replaceRoutes(routes);
        }

        @Override
        public void upstreams(List<UpstreamConfig> upstreams, List<RouteConfig> routes) {
            engine.replace(routingEngine(upstreams, routes));
        }
    }

    /** Starts a relay; on any failure, what was started is stopped again and the error is thrown. */
    public static RelayServer start(RelayConfig config) throws Exception {
        RelayServer server = new RelayServer(config);
        try {
            server.startAll();
            return server;
        } catch (Exception e) {
            server.close();
            throw e;
        }
    }

    private void startAll() throws Exception {
        AddressMask.enable(config.logging().maskAddresses());
        SubmissionPolicy policy = policy();
        ServerTls tls = null;
        if (Preflight.needsTls(config)) {
            ServerCertificates certificates = ServerCertificates.load(config.tls());
            files.watch("certificates", certificates::reloadIfChanged);
            tls = new ServerTls(certificates);
        }

        spool = Spool.open(config.spool().dir(), new SpoolSettings(config.spool().minFreeSpace()));
        openingHistory = HistoryWiring.open(config, spool.root()); // on a thread of its own, while the engine is made
        PrometheusConventions.apply(registry);
        metrics = new RelayMetrics(registry);
        upstreamMetrics = new UpstreamMetrics(registry);
        cluster = dev.relay.server.cluster.ClusterWiring.start(config.cluster(), registry);
        engine = new SwappableEngine(routingEngine(config.upstreams(), config.routes()));
        history = HistoryWiring.start(config, openingHistory, registry);
        QueueConfig qc = config.queue();
        queue = new QueueManager(spool, engine, InstantSource.system(),
                RetryPolicy.of(qc.minBackoff(), qc.maxBackoff(), qc.maxLifetime()), MAX_CONCURRENT_DELIVERIES,
                history == null ? metrics : new dev.relay.history.BothListeners(metrics, history),
                new QueueManager.Bounces(qc.bounces() == QueueConfig.BounceMode.SEND, config.hostname(),
                        qc.delayWarning()),
                qc.failedRetention(), qc.accountProblemLifetime());
        if (tls != null) {
            Gauge.builder("relay.tls.certificate.expiry", tls,
                            t -> Duration.between(java.time.Instant.now(), t.notAfter()).toSeconds())
                    .baseUnit("seconds") // Prometheus wants base units: days would fail promtool check metrics
                    .description("Seconds until the first of the certificates the listeners serve now expires")
                    .register(registry);
        }
        Gauge.builder("relay.queue.messages", queue, QueueManager::queued)
                .description("Messages in the spool waiting for or in delivery").register(registry);
        FunctionCounter.builder("relay.spool.fsyncs", spool, Spool::fsyncCount)
                .description("fsyncs issued by the spool (files and directories)").register(registry);
        FunctionCounter.builder("relay.spool.commit.batches", spool, s -> s.commitStats().batches())
                .description("Rounds of directory fsyncs that made new messages durable in the spool's directories (the "
                        + "applier's rounds; group-commit batches without hard links); relay.messages.received over "
                        + "this is the mean batch size")
                .register(registry);
        io.micrometer.core.instrument.Timer commit = io.micrometer.core.instrument.Timer.builder("relay.spool.commit")
                .description("From the end of a message's data to its durable commit: the spool's part of the 250")
                .serviceLevelObjectives(Duration.ofNanos(100_000), Duration.ofNanos(250_000),
                        Duration.ofNanos(500_000), Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5),
                        Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
                        Duration.ofMillis(250), Duration.ofSeconds(1))
                .register(registry);
        spool.onCommitLatency(nanos -> commit.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS));
        Map<String, Counter> storeFailures = new java.util.concurrent.ConcurrentHashMap<>();
        for (String reason : List.of("no_space", "quota", "read_only", "io_error", "permission_denied", "other")) {
            storeFailures.put(reason, Counter.builder("relay.spool.store.failures").tag("reason", reason)
                    .description("Writes of new messages (and envelope updates) that failed on the spool's file "
                            + "system, by reason")
                    .register(registry));
        }
        spool.onStoreFailure(reason -> storeFailures.getOrDefault(reason, storeFailures.get("other")).increment());
        metrics.bindQueue(queue.admin(), InstantSource.system());
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        queue.start();

        LimitsConfig limits = config.limits();
        AuthThrottle throttle = new AuthThrottle(InstantSource.system(), limits.authMaxFailures(),
                limits.authLockout(), limits.authFailureDelay(), metrics);
        inbound = new Inbound(config.hostname(), tls, policy, limits, throttle, metrics, queue,
                new UserQuotas(InstantSource.system(), limits.userMessagesPerMinute(), limits.userRecipientsPerDay()),
                refusals());
        if (history != null) {
            inbound.receipts(history);
        }
        inbound.maxHandoffHops(config.handoff().maxHops());
        handoffs = HandoffWiring.metrics(registry);
        live = new LiveHandoff(config.handoff(), h -> HandoffWiring.runLive(spool, queue, h, config.hostname(),
                handoffs, history));
        for (ListenerConfig lc : config.listeners()) {
            InboundListener l = new InboundListener(lc, inbound);
            listeners.add(l);
            metrics.bindListener(l.name(), l.tls() != TlsMode.NONE, l::openSessions, l.stats());
            l.start();
        }
        admin = new AdminServer(config.admin().bind(), registry, this::failingReadinessChecks, queue.admin(),
                config.admin().token(), history, live);
        if (cluster != null) {
            admin.details(cluster::readinessDetails);
        }
        admin.start();
        log.info("relay ready: {} listeners, admin on {}, upstreams {}, {} routes", listeners.size(),
                config.admin().bind(), config.upstreams().stream().map(UpstreamConfig::name).toList(),
                config.routes().size());
    }

    private RoutingEngine routingEngine(List<UpstreamConfig> upstreams, List<RouteConfig> routes) {
        // rewritten outbound copies live in the spool's tmp/, which the spool empties at start
        RoutingEngine routing = RoutingEngine.create(upstreams, routes,
                u -> new NettyDeliveryEngine(UpstreamTargets.of(u), metrics, cluster == null ? null : cluster.quota()),
                spool.root().resolve("tmp"),
                InstantSource.system(), metrics);
        upstreamMetrics.register(upstreams);
        routing.watchAttempts(upstreamMetrics);
        return routing;
    }

    /** The configuration in force: the one started with, with what reloads applied. */
    private RelayConfig current() {
        ConfigReloader r = reloader;
        return r == null ? config : r.running();
    }

    /** Counters of {@code relay.inbound.refused}, one per reason, registered at zero so that rates start at once. */
    private Refusal.Listener refusals() {
        Map<Refusal, Counter> counters = new EnumMap<>(Refusal.class);
        for (Refusal r : Refusal.values()) {
            counters.put(r, Counter.builder("relay.inbound.refused").tag("reason", r.tag())
                    .description("Clients, commands and messages refused by a limit or a policy").register(registry));
        }
        return r -> counters.get(r).increment();
    }

    private SubmissionPolicy policy() throws UsersFileException {
        if (config.auth().usersFile() != null) {
            users = new ReloadingUsersFile(config.auth().usersFile());
            files.watch("users file", users::reloadIfChanged);
        }
        return new SubmissionPolicy(config.auth(), users);
    }

    /**
     * An operator's reload (SIGHUP), without touching a connection: reads the users file again now, then the
     * configuration (when the relay was started from one): limits, routes and upstreams apply at once, other changed
     * settings are named as needing a restart, an invalid configuration changes nothing. Documented in README.md
     * ("Reloading").
     */
    public void reload() {
        if (stopping) {
            log.info("reload: stopping; nothing reloaded");
            return;
        }
        if (users != null) {
            log.info("reload: reading users file {}", users.file());
            users.reload();
        }
        if (reloader == null) {
            log.info("reload: no configuration file or environment to re-read; other settings apply at the next "
                    + "start");
            return;
        }
        reloader.reload();
    }

    private Map<String, String> failingReadinessChecks() {
        Map<String, String> failing = new LinkedHashMap<>();
        for (InboundListener l : listeners) {
            if (!l.isRunning()) {
                failing.put("listener:" + l.name(), "not accepting connections");
            }
        }
        spool.storageProblem().ifPresent(problem -> failing.put("spool", problem)); // cached: cheap per probe
        if (config.readiness().requireUpstream() && engine != null) {
            List<String> names = current().upstreams().stream().map(UpstreamConfig::name).toList();
            if (names.stream().allMatch(n -> engine.circuitState(n) == CircuitState.OPEN)) {
                failing.put("upstreams", "the circuit of every upstream is open " + names
                        + " (readiness.require-upstream is on)");
            } else if (names.stream().allMatch(n -> engine.circuitState(n) == CircuitState.OPEN
                    || !metrics.accountProblems(n).isEmpty())) {
                // every upstream is unreachable or refuses the relay's account: name each account problem's fix
                StringBuilder why = new StringBuilder("no upstream can take mail (readiness.require-upstream is on):");
                for (String n : names) {
                    Map<String, String> problems = metrics.accountProblems(n);
                    why.append(' ').append(n).append(": ").append(problems.isEmpty() ? "circuit open"
                            : "account problem " + problems);
                    why.append(';');
                }
                failing.put("upstreams", why.substring(0, why.length() - 1));
            }
        }
        return failing;
    }

    /** Shows the demo capture sink's outbox in the web console ({@code /demo}): the demo defaults only. */
    public void showDemoOutbox(Path outbox) {
        admin.console().demoOutbox(outbox);
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    public QueueManager queue() {
        return queue;
    }

    /** The SMTP listeners, in configuration order. */
    public List<InboundListener> listeners() {
        return List.copyOf(listeners);
    }

    /**
     * Graceful stop within {@code grace} in all: every listener stops accepting at once (connections are refused,
     * so a load balancer moves new clients elsewhere; idle sessions get {@code 421 4.3.2}), sessions in a mail
     * transaction may finish it within the grace period less a reserve, then deliveries in flight get what is
     * left, then the delivery engine closes; a hand-off by hand that is running ends (within its timeout); with
     * {@code handoff.to} what is still queued is handed off to the peer
     * (within {@code handoff.timeout}, on top of the grace); then the admin endpoint and the spool close. Whatever
     * is neither delivered nor handed off stays in the spool.
     */
    public void stop(Duration grace) {
        long deadline = System.nanoTime() + grace.toNanos();
        stopping = true;
        if (inbound != null) {
            inbound.drain(); // a hand-off from another replica now gets 451 4.3.2: it tries another one
        }
        files.close();
        listeners.forEach(InboundListener::stopAccepting);
        long sessionsDeadline = deadline - sessionReserve(grace).toNanos();
        for (InboundListener l : listeners) {
            l.stop(remaining(sessionsDeadline));
        }
        if (!listeners.isEmpty()) {
            log.info("listeners closed: no new connections");
        }
        if (queue != null) {
            queue.stop(remaining(deadline));
            log.info("deliveries stopped");
        }
        if (engine != null) {
            engine.close();
        }
        if (live != null) {
            live.stop(); // a hand-off by hand ends before the stop's own and before the spool closes
        }
        if (config.handoff().enabled() && spool != null && handoffs != null) {
            HandoffWiring.onStop(spool, config.handoff(), config.hostname(), handoffs, history);
        }
        if (admin != null) {
            admin.close();
        }
        HistoryWiring.close(history, openingHistory); // what is buffered is written first
        if (cluster != null) {
            cluster.close(); // after the engines: no limiter asks it any more
        }
        if (spool != null) {
            spool.close();
            log.info("spool closed");
        }
        registry.close();
    }

    /** The part of the grace kept from sessions for stopping deliveries cleanly: a quarter, at most 2 seconds. */
    static Duration sessionReserve(Duration grace) {
        Duration quarter = grace.dividedBy(4);
        return quarter.compareTo(MAX_SESSION_RESERVE) > 0 ? MAX_SESSION_RESERVE : quarter;
    }

    private static Duration remaining(long deadline) {
        return Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
    }

    @Override
    public void close() {
        stop(Duration.ofSeconds(10));
    }
}
