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
        if (!c.tls().sni().isEmpty()) {
            List<Object> sni = new ArrayList<>();
            for (TlsConfig.SniCertificate sc : c.tls().sni()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("names", sc.names());
                put(m, "cert", sc.cert());
                put(m, "key", sc.key());
                sni.add(m);
            }
            tls.put("sni", sni);
        }
        if (!tls.isEmpty()) {
            root.put("tls", tls);
        }
        Map<String, Object> auth = new LinkedHashMap<>();
        put(auth, "users-file", c.auth().usersFile());
        auth.put("trusted-networks", c.auth().trustedNetworks().stream().map(Cidr::toString).toList());
        auth.put("trusted-senders", c.auth().trustedSenders());
        if (c.auth().iAmAnOpenRelay()) {
            auth.put("i-am-an-open-relay", true);
        }
        if (!c.auth().policies().isEmpty()) {
            List<Object> policies = new ArrayList<>();
            for (UserPolicy up : c.auth().policies()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("user", up.user());
                m.put("senders", up.senders());
                m.put("recipient-domains", up.recipientDomains());
                m.put("check-header-from", up.checkHeaderFrom());
                policies.add(m);
            }
            auth.put("policies", policies);
        }
        root.put("auth", auth);
        Map<String, Object> spool = new LinkedHashMap<>();
        spool.put("dir", c.spool().dir().toString());
        spool.put("min-free-space", Sizes.format(c.spool().minFreeSpace()));
        root.put("spool", spool);
        Map<String, Object> queue = new LinkedHashMap<>();
        queue.put("min-backoff", Durations.format(c.queue().minBackoff()));
        queue.put("max-backoff", Durations.format(c.queue().maxBackoff()));
        queue.put("max-lifetime", Durations.format(c.queue().maxLifetime()));
        queue.put("bounces", c.queue().bounces().key());
        queue.put("failed-retention", Durations.format(c.queue().failedRetention()));
        queue.put("account-problem-lifetime", Durations.format(c.queue().accountProblemLifetime()));
        queue.put("delay-warning", c.queue().delayWarning() == null ? QueueConfig.OFF
                : Durations.format(c.queue().delayWarning()));
        root.put("queue", queue);
        List<Object> upstreams = new ArrayList<>();
        for (UpstreamConfig u : c.upstreams()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", u.name());
            put(m, "provider", u.provider() == null ? null : u.provider().key());
            put(m, "region", u.region());
            put(m, "url", u.url());
            if (u.url() == null || u.url().username() == null) {
                put(m, "username", u.shownUsername());
            }
            if (u.password() != null) {
                m.put("password", Problems.MASK);
            }
            put(m, "tls", u.tls() == null ? null : u.tls().key());
            put(m, "trust", u.trust());
            putDelivery(m, u);
            upstreams.add(m);
        }
        root.put("upstreams", upstreams);
        Map<String, Object> admin = new LinkedHashMap<>();
        admin.put("bind", c.admin().bind().toString());
        if (c.admin().token() != null) {
            admin.put("token", Problems.MASK);
        }
        root.put("admin", admin);
        if (!c.routes().isEmpty()) {
            root.put("routes", routes(c.routes()));
        }
        LimitsConfig l = c.limits();
        Map<String, Object> limits = new LinkedHashMap<>();
        limits.put("max-message-size", Sizes.format(l.maxMessageSize()));
        limits.put("max-recipients", l.maxRecipients());
        limits.put("max-connections", l.maxConnections());
        limits.put("max-connections-per-client", l.maxConnectionsPerClient());
        limits.put("idle-timeout", Durations.format(l.idleTimeout()));
        limits.put("max-messages-per-connection", l.maxMessagesPerConnection());
        limits.put("auth-max-failures", l.authMaxFailures());
        limits.put("auth-lockout", Durations.format(l.authLockout()));
        limits.put("auth-failure-delay", Durations.format(l.authFailureDelay()));
        limits.put("data-timeout", Durations.format(l.dataTimeout()));
        limits.put("max-commands-before-mail", l.maxCommandsBeforeMail());
        limits.put("user-messages-per-minute", l.userMessagesPerMinute());
        limits.put("user-recipients-per-day", l.userRecipientsPerDay());
        root.put("limits", limits);
        root.put("readiness", Map.of("require-upstream", c.readiness().requireUpstream()));
        root.put("logging", Map.of("mask-addresses", c.logging().maskAddresses()));
        Map<String, Object> history = new LinkedHashMap<>();
        history.put("enabled", c.history().enabled());
        if (c.history().path() != null) {
            history.put("path", c.history().path().toString());
        }
        history.put("retention", Durations.format(c.history().retention()));
        history.put("max-size", Sizes.format(c.history().maxSize()));
        history.put("mask-addresses", c.history().maskAddresses());
        history.put("subject", c.history().subject());
        history.put("buffer", c.history().buffer());
        root.put("history", history);
        if (c.handoff().enabled()) {
            Map<String, Object> handoff = new LinkedHashMap<>();
            handoff.put("to", c.handoff().to().toString());
            handoff.put("user", c.handoff().user());
            handoff.put("password", Problems.MASK);
            handoff.put("tls", c.handoff().tls().key());
            put(handoff, "trust", c.handoff().trust());
            handoff.put("timeout", Durations.format(c.handoff().timeout()));
            handoff.put("max-hops", c.handoff().maxHops());
            root.put("handoff", handoff);
        }
        ClusterConfig cluster = c.cluster();
        if (cluster.enabled()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("database", cluster.database().toString());
            if (cluster.password() != null) {
                m.put("password", Problems.MASK);
            }
            m.put("replica-name", cluster.replicaName());
            m.put("expected-replicas", cluster.expectedReplicas());
            root.put("cluster", m);
        }
        try {
            return YAML.writeValueAsString(root) + presetNotes(c.upstreams());
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Comment lines (the YAML still loads back): what each upstream's provider preset filled. */
    private static String presetNotes(List<UpstreamConfig> upstreams) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < upstreams.size(); i++) {
            String note = upstreams.get(i).presetNote();
            if (note != null) {
                if (sb.isEmpty()) {
                    sb.append("# provider presets (a key set in the file or the environment wins over the preset):\n");
                }
                sb.append("# upstreams[").append(i).append("] ").append(upstreams.get(i).name()).append(": ")
                        .append(note.replace('\n', ' ')).append('\n');
            }
        }
        return sb.toString();
    }

    private static List<Object> routes(List<RouteConfig> routes) {
        List<Object> out = new ArrayList<>();
        for (RouteConfig r : routes) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", r.name());
            if (!r.senders().isEmpty()) {
                m.put("senders", r.senders());
            }
            if (!r.users().isEmpty()) {
                m.put("users", r.users());
            }
            m.put("upstreams", r.upstreams());
            put(m, "rewrite-sender", r.rewriteSender());
            put(m, "rewrite-from", r.rewriteFrom());
            if (r.replyToOriginal()) {
                m.put("reply-to-original", "true");
            }
            if (!r.stripHeaders().isEmpty()) {
                m.put("strip-headers", r.stripHeaders());
            }
            if (r.dkim() != null) { // the key file's name, never the key
                Map<String, Object> d = new LinkedHashMap<>();
                put(d, "domain", r.dkim().domain());
                put(d, "selector", r.dkim().selector());
                put(d, "key-file", r.dkim().keyFile());
                d.put("algorithm", r.dkim().algorithm().key());
                d.put("headers", r.dkim().headers());
                m.put("dkim", d);
            }
            out.add(m);
        }
        return out;
    }

    /** The delivery keys of an upstream: auth, oauth2 (secrets masked), pool, timeouts, rate. */
    private static void putDelivery(Map<String, Object> m, UpstreamConfig u) {
        m.put("auth", u.auth().key());
        if (u.oauth2() != null) {
            Map<String, Object> o = new LinkedHashMap<>();
            put(o, "token-url", u.oauth2().tokenUrl());
            put(o, "client-id", u.oauth2().clientId());
            if (u.oauth2().clientSecret() != null) {
                o.put("client-secret", Problems.MASK);
            }
            put(o, "scope", u.oauth2().scope());
            if (u.oauth2().refreshToken() != null) {
                o.put("refresh-token", Problems.MASK);
            }
            m.put("oauth2", o);
        }
        m.put("max-connections", Integer.toString(u.maxConnections()));
        m.put("max-messages-per-connection", Integer.toString(u.maxMessagesPerConnection()));
        m.put("idle-timeout", Durations.format(u.idleTimeout()));
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("connect", Durations.format(u.timeouts().connect()));
        t.put("greeting", Durations.format(u.timeouts().greeting()));
        t.put("command", Durations.format(u.timeouts().command()));
        t.put("data-block", Durations.format(u.timeouts().dataBlock()));
        t.put("data-end", Durations.format(u.timeouts().dataEnd()));
        m.put("timeouts", t);
        Map<String, Object> r = new LinkedHashMap<>();
        double perSecond = u.rate().perSecond();
        r.put("per-second", perSecond == Math.rint(perSecond) ? Long.toString((long) perSecond)
                : Double.toString(perSecond));
        r.put("per-day", Long.toString(u.rate().perDay()));
        m.put("rate", r);
        if (!u.accountReplies().isEmpty()) {
            List<Object> rows = new ArrayList<>();
            for (UpstreamConfig.AccountReply a : u.accountReplies()) {
                Map<String, Object> row = new LinkedHashMap<>();
                put(row, "pattern", a.pattern());
                put(row, "action", a.action());
                put(row, "reason", a.reason());
                put(row, "fix", a.fix());
                put(row, "defer-for", a.deferFor() == null ? null : Durations.format(a.deferFor()));
                rows.add(row);
            }
            m.put("account-replies", rows);
        }
    }

    private static void put(Map<String, Object> m, String key, Object value) {
        if (value != null) {
            m.put(key, value instanceof Path p ? p.toString() : value.toString());
        }
    }
}
