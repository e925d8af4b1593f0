package dev.relay.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Turns the checked tree into the records, parsing every value; a value that does not parse becomes a problem
 * (naming its key and where it came from) and is left out, so that all problems are found in one pass.
 */
final class Binder {
    private final Problems problems;

    private Binder(Problems problems) {
        this.problems = problems;
    }

    /** The configuration, or a ConfigException with every problem of the tree and of the rules. */
    static LoadedConfig bind(Node.MapNode root, Problems problems) {
        Binder b = new Binder(problems);
        String hostname = b.text(root, "", "hostname");
        List<ListenerConfig> listeners = b.list(root, "", "listeners", b::listener);
        TlsConfig tls = b.tls(b.section(root, "tls"));
        AuthConfig auth = b.auth(b.section(root, "auth"));
        SpoolConfig spool = b.spool(b.section(root, "spool"));
        QueueConfig queue = b.queue(b.section(root, "queue"));
        List<UpstreamConfig> upstreams = b.list(root, "", "upstreams", b::upstream);
        Node.MapNode adminNode = b.section(root, "admin");
        AdminConfig admin = new AdminConfig(b.value(adminNode, "admin", "bind", HostPort::parse),
                adminNode == null ? null : b.secret(adminNode, "admin", "token"));
        LimitsConfig limits = b.limits(b.section(root, "limits"));
        if (hostname == null || hostname.isBlank()) {
            hostname = LocalHost.name();
        }
        List<RouteConfig> routes = b.list(root, "", "routes", b::route);
        Boolean requireUpstream = b.value(b.section(root, "readiness"), "readiness", "require-upstream",
                Scalars::bool);
        Boolean mask = b.value(b.section(root, "logging"), "logging", "mask-addresses", Scalars::bool);
        HistoryConfig history = b.history(b.section(root, "history"));
        HistoryConfig.check(history, problems);
        HandoffConfig handoff = b.handoff(b.section(root, "handoff"));
        HandoffConfig.check(handoff, problems);
        ClusterConfig cluster = b.cluster(b.section(root, "cluster"));
        ClusterConfig.check(cluster, problems);
        Validator.check(hostname, listeners, tls, auth, spool, queue, upstreams, admin, problems);
        RouteRules.check(routes, upstreams, problems);
        Validator.checkInbound(auth, limits, problems);
        problems.throwIfErrors();
        RelayConfig config = new RelayConfig(hostname, listeners, tls, auth, spool, queue, upstreams, admin,
                routes, limits, new ReadinessConfig(requireUpstream != null && requireUpstream),
                new LoggingConfig(mask != null && mask), history, handoff, cluster);
        return new LoadedConfig(config, problems.warnings());
    }

    private ListenerConfig listener(Node.MapNode m, String at) {
        return new ListenerConfig(orDefault(text(m, at, "name"), "listener-" + index(at)), value(m, at, "bind", HostPort::parse),
                value(m, at, "tls", TlsMode::parse));
    }

    private HistoryConfig history(Node.MapNode m) {
        HistoryConfig d = HistoryConfig.defaults();
        return new HistoryConfig(orDefault(value(m, "history", "enabled", Scalars::bool), d.enabled()),
                value(m, "history", "path", Path::of),
                orDefault(value(m, "history", "retention", Durations::parse), d.retention()),
                orDefault(value(m, "history", "max-size", Sizes::parse), d.maxSize()),
                orDefault(value(m, "history", "mask-addresses", Scalars::bool), d.maskAddresses()),
                orDefault(value(m, "history", "subject", Scalars::bool), d.subject()),
                orDefault(value(m, "history", "buffer", Scalars::integer), d.buffer()));
    }

    private HandoffConfig handoff(Node.MapNode m) {
        if (m == null) {
            return HandoffConfig.off();
        }
        return new HandoffConfig(value(m, "handoff", "to", UpstreamUrl::parse), text(m, "handoff", "user"),
                secret(m, "handoff", "password"), value(m, "handoff", "tls", TlsMode::parse),
                value(m, "handoff", "trust", Path::of), value(m, "handoff", "timeout", Durations::parse),
                orDefault(value(m, "handoff", "max-hops", Scalars::integer), 0));
    }

    private ClusterConfig cluster(Node.MapNode m) {
        Integer replicas = value(m, "cluster", "expected-replicas", Scalars::integer);
        return m == null ? ClusterConfig.off() : new ClusterConfig(
                value(m, "cluster", "database", ClusterConfig.Database::parse), secret(m, "cluster", "password"),
                text(m, "cluster", "replica-name"), replicas == null ? 0 : replicas);
    }

    private SpoolConfig spool(Node.MapNode m) {
        Long reserve = value(m, "spool", "min-free-space", Sizes::parse);
        return new SpoolConfig(value(m, "spool", "dir", Path::of),
                reserve == null ? SpoolConfig.DEFAULT_MIN_FREE_SPACE : reserve);
    }

    /** {@code retry-delay} is the old name of {@code min-backoff}: either may be set, not both. */
    private QueueConfig queue(Node.MapNode m) {
        Duration retryDelay = value(m, "queue", "retry-delay", Durations::parse);
        Duration minBackoff = value(m, "queue", "min-backoff", Durations::parse);
        if (retryDelay != null && minBackoff != null) {
            problems.error("queue.retry-delay", Durations.format(retryDelay), "queue.retry-delay is the old name "
                    + "of queue.min-backoff and both are set: keep min-backoff only");
        } else if (retryDelay != null && (retryDelay.isNegative() || retryDelay.isZero())) {
            problems.error("queue.retry-delay", Durations.format(retryDelay),
                    "the retry delay must be positive, e.g. 1m");
        } else if (retryDelay != null) {
            minBackoff = retryDelay;
        }
        return new QueueConfig(minBackoff, value(m, "queue", "max-backoff", Durations::parse),
                value(m, "queue", "max-lifetime", Durations::parse),
                value(m, "queue", "bounces", QueueConfig.BounceMode::parse),
                value(m, "queue", "failed-retention", Durations::parse),
                value(m, "queue", "account-problem-lifetime", Durations::parse),
                value(m, "queue", "delay-warning", QueueConfig::parseDelayWarning));
    }

    private TlsConfig tls(Node.MapNode m) {
        return new TlsConfig(value(m, "tls", "cert", Path::of), value(m, "tls", "key", Path::of),
                m == null ? List.of() : list(m, "tls", "sni", this::sni));
    }

    private TlsConfig.SniCertificate sni(Node.MapNode m, String at) {
        return new TlsConfig.SniCertificate(strings(m, at, "names"), value(m, at, "cert", Path::of),
                value(m, at, "key", Path::of));
    }

    private AuthConfig auth(Node.MapNode m) {
        Path users = value(m, "auth", "users-file", Path::of);
        List<Cidr> networks = values(m, "auth", "trusted-networks", Cidr::parse);
        List<String> trustedSenders = values(m, "auth", "trusted-senders", Function.identity());
        List<UserPolicy> policies = m == null ? List.of() : list(m, "auth", "policies", this::policy);
        Boolean openRelay = value(m, "auth", "i-am-an-open-relay", Scalars::bool);
        return new AuthConfig(users, networks, policies, trustedSenders, Boolean.TRUE.equals(openRelay));
    }

    private UserPolicy policy(Node.MapNode m, String at) {
        Boolean checkHeaderFrom = value(m, at, "check-header-from", Scalars::bool);
        return new UserPolicy(text(m, at, "user"), values(m, at, "senders", Function.identity()),
                values(m, at, "recipient-domains", Function.identity()),
                checkHeaderFrom != null && checkHeaderFrom);
    }

    private LimitsConfig limits(Node.MapNode m) {
        LimitsConfig d = LimitsConfig.defaults();
        return new LimitsConfig(
                orDefault(value(m, "limits", "max-message-size", Sizes::parse), d.maxMessageSize()),
                orDefault(value(m, "limits", "max-recipients", Scalars::integer), d.maxRecipients()),
                orDefault(value(m, "limits", "max-connections", Scalars::integer), d.maxConnections()),
                orDefault(value(m, "limits", "max-connections-per-client", Scalars::integer),
                        d.maxConnectionsPerClient()),
                orDefault(value(m, "limits", "idle-timeout", Durations::parse), d.idleTimeout()),
                orDefault(value(m, "limits", "max-messages-per-connection", Scalars::integer),
                        d.maxMessagesPerConnection()),
                orDefault(value(m, "limits", "auth-max-failures", Scalars::integer), d.authMaxFailures()),
                orDefault(value(m, "limits", "auth-lockout", Durations::parse), d.authLockout()),
                orDefault(value(m, "limits", "auth-failure-delay", Durations::parse), d.authFailureDelay()),
                orDefault(value(m, "limits", "data-timeout", Durations::parse), d.dataTimeout()),
                orDefault(value(m, "limits", "max-commands-before-mail", Scalars::integer),
                        d.maxCommandsBeforeMail()),
                orDefault(value(m, "limits", "user-messages-per-minute", Scalars::integer),
                        d.userMessagesPerMinute()),
                orDefault(value(m, "limits", "user-recipients-per-day", s -> (long) Scalars.integer(s)),
                        d.userRecipientsPerDay()));
    }

    private static <T> T orDefault(T value, T fallback) {
        return value == null ? fallback : value;
    }

    /** A list of single values, written as a list or as one comma-separated value; bad items are problems. */
    private <T> List<T> values(Node.MapNode m, String at, String key, Function<String, T> parser) {
        List<T> out = new ArrayList<>();
        Node node = m == null ? null : m.entries().get(key);
        String listAt = KeyPath.child(at, key);
        if (node instanceof Node.Scalar s) { // one comma-separated value
            for (String part : s.value().split(",")) {
                if (!part.isBlank()) {
                    add(out, parse(new Node.Scalar(part.trim(), s.origin()), listAt, parser));
                }
            }
        } else if (node instanceof Node.ListNode list) {
            for (int i = 0; i < list.items().size(); i++) {
                if (list.items().get(i) instanceof Node.Scalar s) {
                    add(out, parse(s, KeyPath.item(listAt, i), parser));
                } else {
                    problems.missing(KeyPath.item(listAt, i), "list item missing: number the items from 0 without gaps");
                }
            }
        }
        return out;
    }

    private UpstreamConfig upstream(Node.MapNode m, String at) {
        Node.MapNode timeouts = child(m, "timeouts");
        String tAt = KeyPath.child(at, "timeouts");
        Node.MapNode rate = child(m, "rate");
        String rAt = KeyPath.child(at, "rate");
        Integer maxConnections = value(m, at, "max-connections", Scalars::integer);
        Integer maxMessages = value(m, at, "max-messages-per-connection", Scalars::integer);
        Double perSecond = value(rate, rAt, "per-second", Scalars::decimal);
        Long perDay = value(rate, rAt, "per-day", s -> (long) Scalars.integer(s));
        String name = orDefault(text(m, at, "name"), "upstream-" + index(at));
        UpstreamUrl url = value(m, at, "url", UpstreamUrl::parse);
        String username = text(m, at, "username");
        String password = secret(m, at, "password");
        TlsMode tls = value(m, at, "tls", TlsMode::parse);
        Path trust = value(m, at, "trust", Path::of);
        UpstreamAuth auth = value(m, at, "auth", UpstreamAuth::parse);
        UpstreamConfig.OAuth2 oauth2 = oauth2(child(m, "oauth2"), KeyPath.child(at, "oauth2"));
        PresetFill f = new PresetFill(value(m, at, "provider", ProviderPreset::parse), text(m, at, "region"), url,
                username, tls, auth, oauth2 != null, perSecond, perDay);
        return new UpstreamConfig(name, f.url, f.username, password, f.tls, trust, f.auth, oauth2,
                maxConnections == null ? UpstreamConfig.DEFAULT_MAX_CONNECTIONS : maxConnections,
                maxMessages == null ? UpstreamConfig.DEFAULT_MAX_MESSAGES_PER_CONNECTION : maxMessages,
                value(m, at, "idle-timeout", Durations::parse),
                new UpstreamConfig.Timeouts(value(timeouts, tAt, "connect", Durations::parse),
                        value(timeouts, tAt, "greeting", Durations::parse),
                        value(timeouts, tAt, "command", Durations::parse),
                        value(timeouts, tAt, "data-block", Durations::parse),
                        value(timeouts, tAt, "data-end", Durations::parse)),
                new UpstreamConfig.Rate(f.perSecond == null ? 0 : f.perSecond, f.perDay == null ? 0 : f.perDay),
                f.preset, f.region, f.filled, list(m, at, "account-replies", this::accountReply));
    }

    private UpstreamConfig.AccountReply accountReply(Node.MapNode m, String at) {
        String pattern = value(m, at, "pattern", Scalars::regex);
        if (pattern == null && !(m.entries().get("pattern") instanceof Node.Scalar)) {
            problems.missing(KeyPath.child(at, "pattern"), "an account reply needs a pattern (a regular expression "
                    + "found in the reply, e.g. \"^550 5\\.7\\.30\")");
        }
        String action = value(m, at, "action", Scalars::accountAction);
        if (action == null && !(m.entries().get("action") instanceof Node.Scalar)) {
            problems.missing(KeyPath.child(at, "action"), "an account reply needs an action: "
                    + String.join(", ", UpstreamConfig.ACCOUNT_ACTIONS));
        }
        return new UpstreamConfig.AccountReply(pattern, action, value(m, at, "reason", Scalars::label),
                text(m, at, "fix"), value(m, at, "defer-for", Durations::parse));
    }

    private UpstreamConfig.OAuth2 oauth2(Node.MapNode m, String at) {
        if (m == null) {
            return null;
        }
        return new UpstreamConfig.OAuth2(value(m, at, "token-url", Scalars::uri), text(m, at, "client-id"),
                secret(m, at, "client-secret"), text(m, at, "scope"), secret(m, at, "refresh-token"));
    }

    private static Node.MapNode child(Node.MapNode m, String key) {
        return m != null && m.entries().get(key) instanceof Node.MapNode c ? c : null;
    }

    private RouteConfig route(Node.MapNode m, String at) {
        Boolean replyTo = value(m, at, "reply-to-original", Scalars::bool);
        return new RouteConfig(orDefault(text(m, at, "name"), "route-" + index(at)), strings(m, at, "senders"),
                strings(m, at, "users"), strings(m, at, "upstreams"),
                value(m, at, "rewrite-sender", AddressRewrite::parse), value(m, at, "rewrite-from", AddressRewrite::parse),
                replyTo != null && replyTo, strings(m, at, "strip-headers"),
                dkim(child(m, "dkim"), KeyPath.child(at, "dkim")));
    }

    private DkimConfig dkim(Node.MapNode m, String at) {
        if (m == null) {
            return null;
        }
        return new DkimConfig(text(m, at, "domain"), text(m, at, "selector"), value(m, at, "key-file", Path::of),
                value(m, at, "algorithm", DkimConfig.Algorithm::parse), strings(m, at, "headers"));
    }

    /** A list of single values, or one comma-separated value. */
    private List<String> strings(Node.MapNode m, String at, String key) {
        List<String> out = new ArrayList<>();
        Node node = m == null ? null : m.entries().get(key);
        String listAt = KeyPath.child(at, key);
        if (node instanceof Node.Scalar s) {
            for (String part : s.value().split(",")) {
                if (!part.isBlank()) {
                    out.add(part.trim());
                }
            }
        } else if (node instanceof Node.ListNode list) {
            for (int i = 0; i < list.items().size(); i++) {
                if (list.items().get(i) instanceof Node.Scalar s) {
                    out.add(s.value().trim());
                } else {
                    problems.missing(KeyPath.item(listAt, i), "list item missing: number the items from 0 without gaps");
                }
            }
        }
        return out;
    }

    /** A secret given directly or as {@code <key>-file}; the file is read now, trailing newlines stripped. */
    private String secret(Node.MapNode m, String at, String key) {
        Node direct = m.entries().get(key);
        Node file = m.entries().get(key + Schema.FILE_SUFFIX);
        String fileKey = KeyPath.child(at, key + Schema.FILE_SUFFIX);
        if (direct != null && file != null) {
            problems.error(fileKey, ((Node.Scalar) file).value(), "both " + key + " (" + direct.origin() + ") and "
                    + key + Schema.FILE_SUFFIX + " (" + file.origin() + ") are set: keep one");
            return null;
        }
        if (direct != null) {
            return ((Node.Scalar) direct).value();
        }
        if (file == null) {
            return null;
        }
        String name = ((Node.Scalar) file).value();
        try {
            String secret = Files.readString(Path.of(name), StandardCharsets.UTF_8).replaceAll("[\r\n]+$", "");
            if (secret.isEmpty()) {
                problems.error(fileKey, name, "the file " + name + " is empty (" + file.origin()
                        + "): put the " + key + " in it");
                return null;
            }
            return secret;
        } catch (NoSuchFileException e) {
            problems.error(fileKey, name, "the file " + name + " does not exist (" + file.origin()
                    + "): check the path or the mounted secret");
        } catch (IOException | RuntimeException e) {
            problems.error(fileKey, name, "cannot read the file " + name + " (" + file.origin() + "): " + e
                    + "; check the path and its permissions");
        }
        return null;
    }

    private <T> List<T> list(Node.MapNode parent, String at, String key, Item<T> item) {
        List<T> out = new ArrayList<>();
        if (!(parent.entries().get(key) instanceof Node.ListNode list)) {
            return out;
        }
        String listAt = KeyPath.child(at, key);
        for (int i = 0; i < list.items().size(); i++) {
            String itemAt = KeyPath.item(listAt, i);
            if (list.items().get(i) instanceof Node.MapNode m) {
                out.add(item.bind(m, itemAt));
            } else {
                problems.missing(itemAt, "list item missing: number the items from 0 without gaps");
            }
        }
        return out;
    }

    private interface Item<T> {
        T bind(Node.MapNode node, String at);
    }

    private Node.MapNode section(Node.MapNode root, String key) {
        return root.entries().get(key) instanceof Node.MapNode m ? m : null;
    }

    private String text(Node.MapNode m, String at, String key) {
        return value(m, at, key, Function.identity());
    }

    /** The parsed value of {@code key} in {@code m}, null if absent or if it does not parse (a problem). */
    private <T> T value(Node.MapNode m, String at, String key, Function<String, T> parser) {
        if (m == null || !(m.entries().get(key) instanceof Node.Scalar s)) {
            return null;
        }
        boolean url = key.equals("url") || key.equals("database"); // may hold a password by mistake: never shown
        String shown = key.equals("url") ? UpstreamUrl.redact(s.value()) : ClusterConfig.redact(s.value());
        return parse(url ? new Node.Scalar(shown, s.origin()) : s, KeyPath.child(at, key),
                url ? t -> parser.apply(s.value()) : parser);
    }

    private <T> T parse(Node.Scalar s, String key, Function<String, T> parser) {
        try {
            return parser.apply(s.value());
        } catch (IllegalArgumentException e) {
            problems.error(key, s.value(), e.getMessage() + " (" + s.origin() + ")");
            return null;
        }
    }

    private static String orDefault(String value, String fallback) {
        return value == null || value.isBlank() ? fallback : value;
    }

    private static String index(String at) {
        return at.substring(at.lastIndexOf('[') + 1, at.length() - 1);
    }

    private static <T> void add(List<T> out, T item) {
        if (item != null) {
            out.add(item);
        }
    }
}
