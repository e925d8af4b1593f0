package dev.relay.server;

import dev.relay.config.ConfigException;
import dev.relay.config.ConfigLoader;
import dev.relay.config.Durations;
import dev.relay.config.HandoffConfig;
import dev.relay.config.RelayConfig;
import dev.relay.config.TlsMode;
import dev.relay.config.UpstreamUrl;
import dev.relay.core.handoff.Handoff;
import dev.relay.core.spool.Spool;
import dev.relay.core.spool.SpoolException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import dev.relay.server.setup.ConfigChoice;
import dev.relay.server.setup.DemoSetup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code relay queue handoff}: hands off the queue of a stopped relay to a peer, as a stop with {@code handoff.to}
 * does (docs/scale-out.md). It opens the spool itself, so the relay must not be running (the spool's lock says
 * so); a running relay hands off when it gets SIGTERM. Exit status 0 when everything was handed off, 1 when
 * messages were kept (refused by the peer, at the hop limit, or unfinished), 2 on an error.
 */
@Command(name = "handoff", mixinStandardHelpOptions = true,
        description = {"Hands off every queued message of a stopped relay (its spool) to a peer relay over "
                + "authenticated SMTP, removing each only after the peer's 250; prints the counts. handoff.* and "
                + "spool.dir come from --config (or RELAY_* variables, or with neither the demo defaults in "
                + "--data-dir, as for serve); the options override them."})
final class QueueHandoffCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ConfigChoice choice;

    @Option(names = "--to", paramLabel = "URL",
            description = "The peer: smtps://host:port or smtp://host:port (STARTTLS); default handoff.to.")
    String to;

    @Option(names = "--user", paramLabel = "USER", description = "A user of the peer's users file; default handoff.user.")
    String user;

    @Option(names = "--password-file", paramLabel = "FILE",
            description = "A file holding that user's password; default handoff.password-file.")
    Path passwordFile;

    @Option(names = "--trust", paramLabel = "PEM", description = "CA or peer certificates to trust; default handoff.trust.")
    Path trust;

    @Option(names = "--timeout", paramLabel = "DURATION",
            description = "At most this long, e.g. 2m (default handoff.timeout).")
    String timeout;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            RelayConfig c = choice.given(System.getenv()) ? ConfigLoader.load(choice.config(), System.getenv()).config()
                    : DemoSetup.prepare(choice.dataDir(), DemoSetup.Ports.DEFAULT).config();
            HandoffConfig h = handoff(c.handoff());
            Handoff.Summary s;
            try (Spool spool = Spool.open(c.spool().dir())) {
                s = HandoffWiring.run(spool, h, c.hostname(), Handoff.Listener.NONE, null);
            }
            out.println("handed off " + s.handedOff() + ", refused by the peer " + s.refused() + ", at the hop limit "
                    + s.hopLimit() + ", unfinished " + s.unfinished() + "; kept in " + c.spool().dir() + ": "
                    + s.kept());
            out.flush();
            return s.kept() == 0 ? 0 : 1;
        } catch (ConfigException e) {
            err.println("relay queue handoff: invalid configuration: " + e.getMessage());
        } catch (SpoolException e) {
            err.println("relay queue handoff: " + e.getMessage() + " (is the relay still running? stop it: with "
                    + "handoff.to set, SIGTERM hands off by itself)");
        } catch (IllegalArgumentException | IOException e) {
            err.println("relay queue handoff: " + e.getMessage());
        }
        err.flush();
        return 2;
    }

    /** The configured hand-off with the options applied; a missing part is an error naming option and key. */
    private HandoffConfig handoff(HandoffConfig h) throws IOException {
        UpstreamUrl url = to != null ? UpstreamUrl.parse(to) : h.to();
        if (url == null) {
            throw new IllegalArgumentException("no peer: give --to URL or set handoff.to (RELAY_HANDOFF_TO)");
        }
        String u = user != null ? user : h.user();
        String password = passwordFile != null
                ? Files.readString(passwordFile, StandardCharsets.UTF_8).replaceAll("[\r\n]+$", "") : h.password();
        if (u == null || password == null) {
            throw new IllegalArgumentException("the peer needs credentials: give --user and --password-file, or "
                    + "set handoff.user and handoff.password-file (RELAY_HANDOFF_USER, RELAY_HANDOFF_PASSWORD_FILE)");
        }
        if (h.tls() == TlsMode.NONE && h.to() != null && url != h.to() && !url.isLoopback()) {
            throw new IllegalArgumentException("handoff.tls is none, which is only for a loopback peer: remove it to "
                    + "hand off to " + url + " over TLS");
        }
        boolean sameScheme = h.to() != null && h.to().scheme().equals(url.scheme());
        return new HandoffConfig(url, u, password, sameScheme ? h.tls() : null, trust != null ? trust : h.trust(),
                timeout != null ? Durations.parse(timeout) : h.timeout(), h.maxHops());
    }
}
