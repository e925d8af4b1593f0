package dev.relay.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The tree of known keys: the single source for unknown-key checks and for mapping {@code RELAY_*} variables to
 * keys. A secret key {@code x} always has a sibling {@code x-file} naming a file that holds the secret.
 */
final class Schema {
    static final String FILE_SUFFIX = "-file";

    sealed interface Shape permits Leaf, Obj, Items {
    }

    /** A single value; {@code secret} values are masked in messages and output. */
    record Leaf(boolean secret) implements Shape {
    }

    /** Named keys, in documentation order. */
    record Obj(Map<String, Shape> keys) implements Shape {
        String keyList() {
            return String.join(", ", keys.keySet());
        }
    }

    /** A list; a list of single values may also be written as one comma-separated value. */
    record Items(Shape item) implements Shape {
    }

    static final Obj ROOT = obj()
            .leaf("hostname")
            .list("listeners", obj().leaf("name").leaf("bind").leaf("tls").build())
            .obj("tls", obj().leaf("cert").leaf("key")
                    .list("sni", obj().list("names", new Leaf(false)).leaf("cert").leaf("key").build()).build())
            .obj("auth", obj().leaf("users-file").list("trusted-networks", new Leaf(false))
                    .list("trusted-senders", new Leaf(false))
                    .list("policies", obj().leaf("user").list("senders", new Leaf(false))
                            .list("recipient-domains", new Leaf(false)).leaf("check-header-from").build())
                    .leaf("i-am-an-open-relay")
                    .build())
            .obj("spool", obj().leaf("dir").leaf("min-free-space").build())
            .obj("queue", obj().leaf("retry-delay").leaf("min-backoff").leaf("max-backoff").leaf("max-lifetime")
                    .leaf("bounces").leaf("failed-retention").leaf("account-problem-lifetime")
                    .leaf("delay-warning").build())
            .list("upstreams", obj().leaf("name").leaf("url").leaf("username").secret("password").leaf("tls")
                    .leaf("trust").leaf("provider").leaf("region")
                    .leaf("auth")
                    .obj("oauth2", obj().leaf("token-url").leaf("client-id").secret("client-secret").leaf("scope")
                            .secret("refresh-token").build())
                    .leaf("max-connections").leaf("max-messages-per-connection").leaf("idle-timeout")
                    .obj("timeouts", obj().leaf("connect").leaf("greeting").leaf("command").leaf("data-block")
                            .leaf("data-end").build())
                    .obj("rate", obj().leaf("per-second").leaf("per-day").build())
                    .list("account-replies", obj().leaf("pattern").leaf("action").leaf("reason").leaf("fix")
                            .leaf("defer-for").build())
                    .build())
            .obj("admin", obj().leaf("bind").secret("token").build())
            .list("routes", obj().leaf("name").list("senders", new Leaf(false)).list("users", new Leaf(false))
                    .list("upstreams", new Leaf(false)).leaf("rewrite-sender").leaf("rewrite-from")
                    .leaf("reply-to-original").list("strip-headers", new Leaf(false))
                    .obj("dkim", obj().leaf("domain").leaf("selector").leaf("key-file").leaf("algorithm")
                            .list("headers", new Leaf(false)).build())
                    .build())
            .obj("limits", obj().leaf("max-message-size").leaf("max-recipients").leaf("max-connections")
                    .leaf("max-connections-per-client").leaf("idle-timeout").leaf("max-messages-per-connection")
                    .leaf("auth-max-failures").leaf("auth-lockout").leaf("auth-failure-delay").leaf("data-timeout")
                    .leaf("max-commands-before-mail").leaf("user-messages-per-minute")
                    .leaf("user-recipients-per-day").build())
            .obj("readiness", obj().leaf("require-upstream").build())
            .obj("logging", obj().leaf("mask-addresses").build())
            .obj("history", obj().leaf("enabled").leaf("path").leaf("retention").leaf("max-size")
                    .leaf("mask-addresses").leaf("subject").leaf("buffer").build())
            .obj("handoff", obj().leaf("to").leaf("user").secret("password").leaf("tls").leaf("trust")
                    .leaf("timeout").leaf("max-hops").build())
            .obj("cluster", obj().leaf("database").secret("password").leaf("replica-name").leaf("expected-replicas")
                    .build())
            .build();

    private Schema() {
    }

    /** {@code users-file} -> {@code USERS_FILE}. */
    static String envForm(String key) {
        return key.replace('-', '_').toUpperCase(Locale.ROOT);
    }

    static boolean isSecret(Shape shape) {
        return shape instanceof Leaf leaf && leaf.secret();
    }

    private static Builder obj() {
        return new Builder();
    }

    private static final class Builder {
        private final Map<String, Shape> keys = new LinkedHashMap<>();

        Builder leaf(String key) {
            keys.put(key, new Leaf(false));
            return this;
        }

        Builder secret(String key) {
            keys.put(key, new Leaf(true));
            keys.put(key + FILE_SUFFIX, new Leaf(false));
            return this;
        }

        Builder obj(String key, Obj shape) {
            keys.put(key, shape);
            return this;
        }

        Builder list(String key, Shape item) {
            keys.put(key, new Items(item));
            return this;
        }

        Obj build() {
            return new Obj(Collections.unmodifiableMap(new LinkedHashMap<>(keys)));
        }
    }
}
