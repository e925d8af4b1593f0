package dev.relay.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * State shared by several replicas of the relay in one PostgreSQL database: the upstreams' rate limits and the
 * message history. Off (the single-machine relay) until {@code cluster.database} is set.
 *
 * @param database         the database, or null: off
 * @param password         the database user's password (from {@code cluster.password-file}), or null for none
 * @param replicaName      this replica's name (default: the {@code HOSTNAME} environment variable, which is the pod
 *                         name in a StatefulSet, else the host name)
 * @param expectedReplicas how many replicas share the database; while it cannot be reached each replica sends at
 *                         {@code rate / expected-replicas}. Required with {@code database}
 */
public record ClusterConfig(Database database, String password, String replicaName, int expectedReplicas) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

    public ClusterConfig {
        replicaName = replicaName == null || replicaName.isBlank() ? defaultReplicaName() : replicaName;
    }

    public static ClusterConfig off() {
        return new ClusterConfig(null, null, null, 0);
    }

    public boolean enabled() {
        return database != null;
    }

    /** {@code HOSTNAME} (the pod name in Kubernetes), else this machine's name. */
    static String defaultReplicaName() {
        String env = System.getenv("HOSTNAME");
        return env != null && !env.isBlank() ? env : LocalHost.name();
    }

    static void check(ClusterConfig c, Problems p) {
        if (!c.enabled()) {
            return;
        }
        if (c.expectedReplicas < 1) {
            p.missing("cluster.expected-replicas", "with cluster.database set, say how many replicas share it: set "
                    + "cluster.expected-replicas (RELAY_CLUSTER_EXPECTED_REPLICAS) to the StatefulSet's replicas, "
                    + "e.g. 3; while the database is down each replica sends at rate / expected-replicas");
        }
        if (!NAME.matcher(c.replicaName).matches()) {
            p.error("cluster.replica-name", c.replicaName, "a replica name is 1 to 63 letters, digits, '.', '_' or "
                    + "'-': set cluster.replica-name (RELAY_CLUSTER_REPLICA_NAME), e.g. relay-0");
        }
    }

    /** Masks a password written into a database URL by mistake (it is refused, but never shown). */
    static String redact(String url) {
        return url.replaceFirst("^((?:jdbc:)?[a-z]+://[^:@/?]*):[^@/]*@", "$1:" + Problems.MASK + "@");
    }

    @Override
    public String toString() { // never the password
        return "ClusterConfig[database=" + database + ", password=" + (password == null ? "none" : Problems.MASK)
                + ", replicaName=" + replicaName + ", expectedReplicas=" + expectedReplicas + "]";
    }

    /**
     * Where the shared database is.
     *
     * @param host the server's host name or address
     * @param port default 5432
     * @param name the database
     * @param user the user, default {@code relay}
     * @param query the JDBC URL's other parameters ({@code sslmode=require}, ...), or empty
     */
    public record Database(String host, int port, String name, String user, String query) {
        private static final String FIX = ": write it as postgresql://USER@HOST:PORT/DATABASE (or jdbc:postgresql://"
                + "HOST:PORT/DATABASE?user=USER), the password in cluster.password-file";

        /**
         * Parses {@code postgresql://user@host:port/db}, {@code postgres://...} or
         * {@code jdbc:postgresql://host:port/db?user=...}.
         *
         * @throws IllegalArgumentException naming what is wrong and the form to use
         */
        public static Database parse(String text) {
            String s = text.strip();
            if (s.startsWith("jdbc:")) {
                s = s.substring(5);
            }
            URI uri;
            try {
                uri = new URI(s);
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("not a database URL (" + e.getReason() + ")" + FIX);
            }
            if (!"postgresql".equals(uri.getScheme()) && !"postgres".equals(uri.getScheme())) {
                throw new IllegalArgumentException("only PostgreSQL is supported, not '" + uri.getScheme() + "'"
                        + FIX);
            }
            if (uri.getHost() == null) {
                throw new IllegalArgumentException("the URL names no host" + FIX);
            }
            String path = uri.getPath() == null ? "" : uri.getPath();
            if (path.length() < 2 || path.indexOf('/', 1) >= 0) {
                throw new IllegalArgumentException("the URL names no database" + FIX);
            }
            String user = uri.getUserInfo();
            if (user != null && user.contains(":")) {
                throw new IllegalArgumentException("the URL holds a password, which would show in logs and the "
                        + "process list" + FIX);
            }
            StringBuilder rest = new StringBuilder();
            if (uri.getRawQuery() != null) {
                for (String param : uri.getRawQuery().split("&")) {
                    if (param.startsWith("password=")) {
                        throw new IllegalArgumentException("the URL holds a password" + FIX);
                    }
                    if (param.startsWith("user=")) {
                        user = URLDecoder.decode(param.substring(5), StandardCharsets.UTF_8);
                    } else if (!param.isEmpty()) {
                        rest.append(rest.isEmpty() ? "" : "&").append(param);
                    }
                }
            }
            return new Database(uri.getHost().replaceAll("^\\[|\\]$", ""), uri.getPort() < 0 ? 5432 : uri.getPort(), path.substring(1),
                    user == null || user.isEmpty() ? "relay" : user, rest.toString());
        }

        /** The URL for the PostgreSQL JDBC driver, without user or password. */
        public String jdbcUrl() {
            return "jdbc:postgresql://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port + "/" + name
                    + (query.isEmpty() ? "" : "?" + query);
        }

        @Override
        public String toString() { // as cluster.database takes it back
            return "postgresql://" + user + "@" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port + "/"
                    + name + (query.isEmpty() ? "" : "?" + query);
        }
    }
}
