package dev.relay.server;

import dev.relay.config.ConfigException;
import dev.relay.config.ConfigLoader;
import dev.relay.config.LimitsConfig;
import dev.relay.config.LoadedConfig;
import dev.relay.config.RelayConfig;
import dev.relay.config.RouteConfig;
import dev.relay.config.UpstreamConfig;
import dev.relay.server.setup.Preflight;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-reads the configuration of a running relay (SIGHUP, or a change of the file) with the same loading and
 * validation as at start, environment overrides included. An invalid configuration is logged with its problems
 * (key, value, fix) and changes nothing; a valid one applies what can change live ({@link ReloadPlan}) and names,
 * in one line, the settings that changed but need a restart. Counted as {@code relay.config.reloads{result}}.
 */
final class ConfigReloader {
    private static final Logger log = LoggerFactory.getLogger(ConfigReloader.class);

    /** The parts of the running relay a reload changes. */
    interface Target {
        void limits(LimitsConfig limits);

        /** New routes over the running upstreams. */
        void routes(List<RouteConfig> routes);

        /** New upstreams (connections and circuit breakers start afresh) with these routes. */
        void upstreams(List<UpstreamConfig> upstreams, List<RouteConfig> routes);
    }

    private final Path file;
    private final Map<String, String> env;
    private final Target target;
    private final Counter ok;
    private final Counter failed;
    private RelayConfig running;
    private byte[] lastSeen;

    /**
     * @param file    the YAML file, or null when the configuration comes from the environment alone
     * @param running the configuration the relay started with
     */
    ConfigReloader(Path file, Map<String, String> env, RelayConfig running, Target target, MeterRegistry registry) {
        this.file = file;
        this.env = Map.copyOf(env);
        this.running = running;
        this.target = target;
        this.lastSeen = read();
        this.ok = counter(registry, "ok");
        this.failed = counter(registry, "failed");
    }

    private static Counter counter(MeterRegistry registry, String result) {
        return Counter.builder("relay.config.reloads").tag("result", result)
                .description("Configuration reloads (SIGHUP or a changed file): ok, or failed and not applied")
                .register(registry);
    }

    /** The configuration in force: the one started with, with what reloads applied. */
    synchronized RelayConfig running() {
        return running;
    }

    /** Reloads now; true if the configuration was valid (whatever it changed). Never throws. */
    synchronized boolean reload() {
        lastSeen = read();
        String source = file == null ? "the environment" : file.toString();
        LoadedConfig loaded;
        try {
            loaded = ConfigLoader.load(file, env);
        } catch (ConfigException e) {
            failed.increment();
            log.warn("reload: configuration in {} is invalid; the running configuration stays:", source);
            // one line each: the log escapes line breaks inside a message (a client's value must not forge one)
            e.getMessage().lines().forEach(problem -> log.warn("reload:   {}", problem));
            return false;
        } catch (RuntimeException e) {
            failed.increment();
            log.warn("reload: cannot load the configuration from {}; the running configuration stays: {}", source,
                    e.toString());
            return false;
        }
        List<String> problems = Preflight.problems(loaded.config());
        if (!problems.isEmpty()) {
            failed.increment();
            log.warn("reload: configuration in {} names files that cannot be used; the running configuration "
                    + "stays: {}", source, String.join("; ", problems));
            return false;
        }
        List<String> known = running.warnings(); // logged at start or at an earlier reload
        loaded.warnings().stream().filter(w -> !known.contains(w)).forEach(w -> log.warn("configuration: {}", w));
        ReloadPlan plan = ReloadPlan.between(running, loaded.config());
        try {
            // the upstreams first: building them is what can fail (e.g. an OAuth2 setting), before anything changed
            if (plan.upstreams() != null) {
                target.upstreams(plan.upstreams(), plan.routes() != null ? plan.routes() : running.routes());
            } else if (plan.routes() != null) {
                target.routes(plan.routes());
            }
            if (plan.limits() != null) {
                target.limits(plan.limits());
            }
        } catch (RuntimeException e) {
            failed.increment();
            log.warn("reload: applying the configuration from {} failed; the running configuration stays: {}",
                    source, e.toString());
            return false;
        }
        running = plan.applyTo(running);
        ok.increment();
        log.info("reload: configuration from {} loaded: {}", source,
                plan.appliesNothing() ? "nothing to apply now" : "applied " + plan.applied());
        if (!plan.needsRestart().isEmpty()) {
            log.warn("reload: {} changed and needs a restart; running with the previous values until then",
                    String.join(", ", plan.needsRestart()));
        }
        return true;
    }

    /** For the file watch: reloads if the file's content differs from what the last reload read. */
    void reloadIfChanged() {
        if (file == null) {
            return;
        }
        byte[] now = read();
        boolean changed;
        synchronized (this) {
            changed = now != null && !Arrays.equals(now, lastSeen);
        }
        if (changed) {
            log.info("configuration file {} changed: reloading", file);
            reload();
        }
    }

    /** The file's content, or null if there is no file or it cannot be read now (e.g. a secret being swapped). */
    private byte[] read() {
        if (file == null) {
            return null;
        }
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            return null;
        }
    }
}
