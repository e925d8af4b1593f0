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
        SpoolConfig spool = new SpoolConfig(b.value(b.section(root, "spool"), "spool", "dir", Path::of));
        QueueConfig queue = b.queue(b.section(root, "queue"));
        List<UpstreamConfig> upstreams = b.list(root, "", "upstreams", b::upstream);
        Node.MapNode adminNode = b.section(root, "admin");
        AdminConfig admin = new AdminConfig(b.value(adminNode, "admin", "bind", HostPort::parse),
                adminNode == null ? null : b.secret(adminNode, "admin", "token"));
        if (hostname == null || hostname.isBlank()) {
            hostname = LocalHost.name();
        }
        Validator.check(hostname, listeners, tls, auth, spool, queue, upstreams, admin, problems);
        problems.throwIfErrors();
        RelayConfig config = new RelayConfig(hostname, listeners, tls, auth, spool, queue, upstreams, admin);
        return new LoadedConfig(config, problems.warnings());
    }

    private ListenerConfig listener(Node.MapNode m, String at) {
        return new ListenerConfig(orDefault(text(m, at, "name"), "listener-" + index(at)), value(m, at, "bind", HostPort::parse),
                value(m, at, "tls", TlsMode::parse));
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
                value(m, "queue", "failed-retention", Durations::parse));
    }

    private TlsConfig tls(Node.MapNode m) {
        return new TlsConfig(value(m, "tls", "cert", Path::of), value(m, "tls", "key", Path::of));
    }

    private AuthConfig auth(Node.MapNode m) {
        Path users = value(m, "auth", "users-file", Path::of);
        List<Cidr> networks = new ArrayList<>();
        Node node = m == null ? null : m.entries().get("trusted-networks");
        String at = "auth.trusted-networks";
        if (node instanceof Node.Scalar s) { // one comma-separated value
            for (String part : s.value().split(",")) {
                if (!part.isBlank()) {
                    add(networks, parse(new Node.Scalar(part.trim(), s.origin()), at, Cidr::parse));
                }
            }
        } else if (node instanceof Node.ListNode list) {
            for (int i = 0; i < list.items().size(); i++) {
                if (list.items().get(i) instanceof Node.Scalar s) {
                    add(networks, parse(s, KeyPath.item(at, i), Cidr::parse));
                } else {
                    problems.missing(KeyPath.item(at, i), "list item missing: number the items from 0 without gaps");
                }
            }
        }
        return new AuthConfig(users, networks);
    }

    private UpstreamConfig upstream(Node.MapNode m, String at) {
        return new UpstreamConfig(orDefault(text(m, at, "name"), "upstream-" + index(at)), value(m, at, "url", UpstreamUrl::parse),
                text(m, at, "username"), secret(m, at, "password"), value(m, at, "tls", TlsMode::parse),
                value(m, at, "trust", Path::of));
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
        boolean url = key.equals("url"); // may hold a password by mistake: never shown
        return parse(url ? new Node.Scalar(UpstreamUrl.redact(s.value()), s.origin()) : s, KeyPath.child(at, key),
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

    private static void add(List<Cidr> networks, Cidr cidr) {
        if (cidr != null) {
            networks.add(cidr);
        }
    }
}
