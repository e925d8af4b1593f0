package dev.relay.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The effective configuration as YAML in the file's own keys, secrets shown as {@code ****}. */
final class ConfigPrinter {
    private static final YAMLMapper YAML = YAMLMapper.builder()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
            .build();

    private ConfigPrinter() {
    }

    static String toYaml(RelayConfig c) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("hostname", c.hostname());
        List<Object> listeners = new ArrayList<>();
        for (ListenerConfig l : c.listeners()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", l.name());
            put(m, "bind", l.bind());
            m.put("tls", l.tls().key());
            listeners.add(m);
        }
        root.put("listeners", listeners);
        Map<String, Object> tls = new LinkedHashMap<>();
        put(tls, "cert", c.tls().cert());
        put(tls, "key", c.tls().key());
        if (!tls.isEmpty()) {
            root.put("tls", tls);
        }
        Map<String, Object> auth = new LinkedHashMap<>();
        put(auth, "users-file", c.auth().usersFile());
        auth.put("trusted-networks", c.auth().trustedNetworks().stream().map(Cidr::toString).toList());
        root.put("auth", auth);
        root.put("spool", Map.of("dir", c.spool().dir().toString()));
        Map<String, Object> queue = new LinkedHashMap<>();
        queue.put("min-backoff", Durations.format(c.queue().minBackoff()));
        queue.put("max-backoff", Durations.format(c.queue().maxBackoff()));
        queue.put("max-lifetime", Durations.format(c.queue().maxLifetime()));
        queue.put("bounces", c.queue().bounces().key());
        queue.put("failed-retention", Durations.format(c.queue().failedRetention()));
        root.put("queue", queue);
        List<Object> upstreams = new ArrayList<>();
        for (UpstreamConfig u : c.upstreams()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", u.name());
            put(m, "url", u.url());
            if (u.url() == null || u.url().username() == null) {
                put(m, "username", u.username());
            }
            if (u.password() != null) {
                m.put("password", Problems.MASK);
            }
            put(m, "tls", u.tls() == null ? null : u.tls().key());
            put(m, "trust", u.trust());
            upstreams.add(m);
        }
        root.put("upstreams", upstreams);
        Map<String, Object> admin = new LinkedHashMap<>();
        admin.put("bind", c.admin().bind().toString());
        if (c.admin().token() != null) {
            admin.put("token", Problems.MASK);
        }
        root.put("admin", admin);
        try {
            return YAML.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void put(Map<String, Object> m, String key, Object value) {
        if (value != null) {
            m.put(key, value instanceof Path p ? p.toString() : value.toString());
        }
    }
}
