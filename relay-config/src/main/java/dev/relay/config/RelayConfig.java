package dev.relay.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The whole relay configuration, validated: constructing one with invalid values throws a
 * {@link ConfigException} listing every problem. Missing optional parts get their defaults (hostname: the local
 * host name; queue: 1 minute retry delay; admin: 127.0.0.1:9090; tls, auth: empty; limits: {@link LimitsConfig#defaults}).
 *
 * @param hostname  the name in the greeting and EHLO
 * @param listeners the submission ports; at least one
 * @param tls       the listeners' certificate and key
 * @param auth      who may relay
 * @param spool     where messages are stored
 * @param queue     retry timing
 * @param upstreams the smarthosts; at least one
 * @param admin     the metrics and health endpoint
 * @param routes    which upstreams a message tries, in order, by sender (and user); empty: every upstream in
 *                  configuration order
 * @param limits    the listeners' limits against mistakes and abuse
 * @param readiness what {@code /readyz} requires beyond listeners and spool
 * @param logging   what the logs show (address masking)
 * @param history   the message history (on by default, in the spool directory)
 * @param handoff   the hand-off of the queue to a peer relay on stop (off by default)
 * @param cluster   the state shared with other replicas in PostgreSQL (off by default)
 */
public record RelayConfig(String hostname, List<ListenerConfig> listeners, TlsConfig tls, AuthConfig auth,
                          SpoolConfig spool, QueueConfig queue, List<UpstreamConfig> upstreams, AdminConfig admin,
                          List<RouteConfig> routes, LimitsConfig limits, ReadinessConfig readiness,
                          LoggingConfig logging, HistoryConfig history, HandoffConfig handoff,
                          ClusterConfig cluster) {
    public RelayConfig {
        if (hostname == null || hostname.isBlank()) {
            hostname = LocalHost.name();
        }
        listeners = copy(listeners);
        tls = tls == null ? TlsConfig.none() : tls;
        auth = auth == null ? new AuthConfig(null, List.of()) : auth;
        spool = spool == null ? new SpoolConfig(null) : spool;
        queue = queue == null ? QueueConfig.defaults() : queue;
        upstreams = copy(upstreams);
        admin = admin == null ? AdminConfig.defaults() : admin;
        routes = copy(routes);
        limits = limits == null ? LimitsConfig.defaults() : limits;
        readiness = readiness == null ? ReadinessConfig.defaults() : readiness;
        logging = logging == null ? LoggingConfig.defaults() : logging;
        history = history == null ? HistoryConfig.defaults() : history;
        handoff = handoff == null ? HandoffConfig.off() : handoff;
        cluster = cluster == null ? ClusterConfig.off() : cluster;
        Problems problems = new Problems();
        Validator.check(hostname, listeners, tls, auth, spool, queue, upstreams, admin, problems);
        RouteRules.check(routes, upstreams, problems);
        Validator.checkInbound(auth, limits, problems);
        HistoryConfig.check(history, problems);
        HandoffConfig.check(handoff, problems);
        ClusterConfig.check(cluster, problems);
        problems.throwIfErrors();
    }

    /** The previous form: no cluster. */
    public RelayConfig(String hostname, List<ListenerConfig> listeners, TlsConfig tls, AuthConfig auth,
                       SpoolConfig spool, QueueConfig queue, List<UpstreamConfig> upstreams, AdminConfig admin,
                       List<RouteConfig> routes, LimitsConfig limits, ReadinessConfig readiness,
                       LoggingConfig logging, HistoryConfig history, HandoffConfig handoff) {
        this(hostname, listeners, tls, auth, spool, queue, upstreams, admin, routes, limits, readiness, logging,
                history, handoff, null);
    }

    /** The previous form: no hand-off. */
    public RelayConfig(String hostname, List<ListenerConfig> listeners, TlsConfig tls, AuthConfig auth,
                       SpoolConfig spool, QueueConfig queue, List<UpstreamConfig> upstreams, AdminConfig admin,
                       List<RouteConfig> routes, LimitsConfig limits, ReadinessConfig readiness,
                       LoggingConfig logging, HistoryConfig history) {
        this(hostname, listeners, tls, auth, spool, queue, upstreams, admin, routes, limits, readiness, logging,
                history, null);
    }

    /** The previous form: the default history. */
    public RelayConfig(String hostname, List<ListenerConfig> listeners, TlsConfig tls, AuthConfig auth,
                       SpoolConfig spool, QueueConfig queue, List<UpstreamConfig> upstreams, AdminConfig admin,
                       List<RouteConfig> routes, LimitsConfig limits, ReadinessConfig readiness,
                       LoggingConfig logging) {
        this(hostname, listeners, tls, auth, spool, queue, upstreams, admin, routes, limits, readiness, logging,
                (HistoryConfig) null);
    }

    /** The previous form: default readiness and logging. */
    public RelayConfig(String hostname, List<ListenerConfig> listeners, TlsConfig tls, AuthConfig auth,
                       SpoolConfig spool, QueueConfig queue, List<UpstreamConfig> upstreams, AdminConfig admin,
                       List<RouteConfig> routes, LimitsConfig limits) {
        this(hostname, listeners, tls, auth, spool, queue, upstreams, admin, routes, limits, null, null);
    }

    /** A configuration without routes (every message tries every upstream in order) and default limits. */
    public RelayConfig(String hostname, List<ListenerConfig> listeners, TlsConfig tls, AuthConfig auth,
                       SpoolConfig spool, QueueConfig queue, List<UpstreamConfig> upstreams, AdminConfig admin) {
        this(hostname, listeners, tls, auth, spool, queue, upstreams, admin, List.of(), LimitsConfig.defaults());
    }

    /** A configuration with routes and default limits. */
    public RelayConfig(String hostname, List<ListenerConfig> listeners, TlsConfig tls, AuthConfig auth,
                       SpoolConfig spool, QueueConfig queue, List<UpstreamConfig> upstreams, AdminConfig admin,
                       List<RouteConfig> routes) {
        this(hostname, listeners, tls, auth, spool, queue, upstreams, admin, routes, LimitsConfig.defaults());
    }

    /** A configuration without routes, with these limits. */
    public RelayConfig(String hostname, List<ListenerConfig> listeners, TlsConfig tls, AuthConfig auth,
                       SpoolConfig spool, QueueConfig queue, List<UpstreamConfig> upstreams, AdminConfig admin,
                       LimitsConfig limits) {
        this(hostname, listeners, tls, auth, spool, queue, upstreams, admin, List.of(), limits);
    }

    /** The warnings of this (valid) configuration, e.g. a loopback listener without TLS. */
    public List<String> warnings() {
        Problems problems = new Problems();
        Validator.check(hostname, listeners, tls, auth, spool, queue, upstreams, admin, problems);
        RouteRules.check(routes, upstreams, problems);
        Validator.checkInbound(auth, limits, problems);
        return problems.warnings();
    }

    /** The effective configuration as YAML that loads back, every secret shown as {@code ****}. */
    public String toMaskedYaml() {
        return ConfigPrinter.toYaml(this);
    }

    @Override
    public String toString() { // UpstreamConfig.toString masks the passwords
        return "RelayConfig[hostname=" + hostname + ", listeners=" + listeners + ", tls=" + tls + ", auth=" + auth
                + ", spool=" + spool + ", queue=" + queue + ", upstreams=" + upstreams + ", admin=" + admin
                + ", routes=" + routes + ", limits=" + limits + ", readiness=" + readiness + ", logging=" + logging
                + ", history=" + history + ", handoff=" + handoff + ", cluster=" + cluster + "]";
    }

    private static <T> List<T> copy(List<T> list) {
        return list == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(list));
    }
}
