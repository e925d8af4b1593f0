package dev.relay.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
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
        QueueConfig queue = new QueueConfig(
                b.value(b.section(root, "queue"), "queue", "retry-delay", Durations::parse));
        List<UpstreamConfig> upstreams = b.list(root, "", "upstreams", b::upstream);
        AdminConfig admin = new AdminConfig(b.value(b.section(root, "admin"), "admin", "bind", HostPort::parse));
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
        Node.MapNode timeouts = child(m, "timeouts");
        String tAt = KeyPath.child(at, "timeouts");
        Node.MapNode rate = child(m, "rate");
        String rAt = KeyPath.child(at, "rate");
        Integer maxConnections = value(m, at, "max-connections", Binder::count);
        Integer maxMessages = value(m, at, "max-messages-per-connection", Binder::count);
        Double perSecond = value(rate, rAt, "per-second", Binder::decimal);
        Long perDay = value(rate, rAt, "per-day", s -> (long) count(s));
        return new UpstreamConfig(orDefault(text(m, at, "name"), "upstream-" + index(at)), value(m, at, "url", UpstreamUrl::parse),
                text(m, at, "username"), secret(m, at, "password"), value(m, at, "tls", TlsMode::parse),
                value(m, at, "trust", Path::of), value(m, at, "auth", UpstreamAuth::parse),
                oauth2(child(m, "oauth2"), KeyPath.child(at, "oauth2")),
                maxConnections == null ? UpstreamConfig.DEFAULT_MAX_CONNECTIONS : maxConnections,
                maxMessages == null ? UpstreamConfig.DEFAULT_MAX_MESSAGES_PER_CONNECTION : maxMessages,
                value(m, at, "idle-timeout", Durations::parse),
                new UpstreamConfig.Timeouts(value(timeouts, tAt, "connect", Durations::parse),
                        value(timeouts, tAt, "greeting", Durations::parse),
                        value(timeouts, tAt, "command", Durations::parse),
                        value(timeouts, tAt, "data-block", Durations::parse),
                        value(timeouts, tAt, "data-end", Durations::parse)),
                new UpstreamConfig.Rate(perSecond == null ? 0 : perSecond, perDay == null ? 0 : perDay));
    }

    private UpstreamConfig.OAuth2 oauth2(Node.MapNode m, String at) {
        if (m == null) {
            return null;
        }
        return new UpstreamConfig.OAuth2(value(m, at, "token-url", Binder::uri), text(m, at, "client-id"),
                secret(m, at, "client-secret"), text(m, at, "scope"), secret(m, at, "refresh-token"));
    }

    private static Node.MapNode child(Node.MapNode m, String key) {
        return m != null && m.entries().get(key) instanceof Node.MapNode c ? c : null;
    }

    /** A whole number (negative ones too: the validator says what range is allowed). */
    static int count(String s) {
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a whole number: write e.g. 10");
        }
    }

    static double decimal(String s) {
        try {
            double d = Double.parseDouble(s.trim());
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a number: write e.g. 14 or 0.5");
        }
    }

    static java.net.URI uri(String s) {
        try {
            java.net.URI uri = new java.net.URI(s.trim());
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
            if (!scheme.equals("https") && !scheme.equals("http") || uri.getHost() == null) {
                throw new java.net.URISyntaxException(s, "not http(s)");
            }
            return uri;
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("not an https URL: write e.g. "
                    + "https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token");
        }
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
