package dev.relay.server;

import dev.relay.config.ConfigException;
import dev.relay.config.ConfigLoader;
import dev.relay.config.Durations;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.relay.config.RelayConfig;
import dev.relay.core.handoff.Handoff;
import dev.relay.core.spool.Spool;
import dev.relay.core.spool.SpoolException;
import dev.relay.core.spool.SpoolLockedException;
import dev.relay.server.admin.action.HandoffRequest;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import dev.relay.server.setup.ConfigChoice;
import dev.relay.server.setup.DemoSetup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code relay queue handoff}: hands off the queue to a peer, as a stop with {@code handoff.to} does
 * (docs/scale-out.md). On a stopped relay it opens the spool itself; when the spool is locked a relay is running on
 * it, and the command asks that relay through its admin API ({@code POST /api/queue/handoff}, the parent's
 * {@code --admin} and token), which hands off the messages queued then while it goes on receiving and delivering.
 * Exit status 0 when everything was handed off, 1 when messages were kept (refused by the peer, at the hop limit,
 * or unfinished) or the running relay refused (a hand-off runs already), 2 on an error.
 */
@Command(name = "handoff", mixinStandardHelpOptions = true,
        description = {"Hands off every queued message (incoming and deferred) to a peer relay over authenticated "
                + "SMTP, removing each only after the peer's 250; prints the counts. A stopped relay's spool is "
                + "opened directly; when a relay is running on it (the spool is locked), that relay does it, asked "
                + "through its admin API (relay queue --admin URL, token as for the other queue commands), and goes "
                + "on receiving and delivering new mail meanwhile. handoff.* and spool.dir come from --config (or "
                + "RELAY_* variables, or with neither the demo defaults in --data-dir, as for serve); the options "
                + "override them."})
final class QueueHandoffCommand implements Callable<Integer> {
    /** How long a running relay is waited for without --timeout (its handoff.timeout bounds the hand-off). */
    static final Duration DEFAULT_WAIT = Duration.ofHours(1);

    @Spec
    CommandSpec spec;

    @ParentCommand
    QueueCommand parent;

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

    @Option(names = "--trust", paramLabel = "PEM",
            description = "CA or peer certificates to trust; default handoff.trust. A stopped relay only: a running "
                    + "one trusts its own handoff.trust.")
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
            HandoffRequest request = new HandoffRequest(to, user, password(), trust,
                    timeout == null ? null : Durations.parse(timeout));
            Handoff.Summary s;
            try (Spool spool = Spool.open(c.spool().dir())) {
                s = HandoffWiring.run(spool, request.apply(c.handoff()), c.hostname(), Handoff.Listener.NONE, null);
            } catch (SpoolLockedException running) {
                return running(request, c.spool().dir());
            }
            out.println(counts(s.handedOff(), s.refused(), s.hopLimit(), s.unfinished(), c.spool().dir(), s.kept()));
            out.flush();
            return s.kept() == 0 ? 0 : 1;
        } catch (ConfigException e) {
            err.println("relay queue handoff: invalid configuration: " + e.getMessage());
        } catch (SpoolException e) {
            err.println("relay queue handoff: " + e.getMessage());
        } catch (IllegalArgumentException | IOException e) {
            err.println("relay queue handoff: " + e.getMessage());
        }
        err.flush();
        return 2;
    }

    private String password() throws IOException {
        return passwordFile == null ? null
                : Files.readString(passwordFile, StandardCharsets.UTF_8).replaceAll("[\r\n]+$", "");
    }

    /** The hand-off by the relay running on {@code dir}, asked through its admin API. */
    private int running(HandoffRequest request, Path dir) {
        PrintWriter err = spec.commandLine().getErr();
        if (trust != null) {
            err.println("relay queue handoff: a relay is running on " + dir + " (its spool is locked) and trusts its "
                    + "own handoff.trust: drop --trust, or set handoff.trust and restart it");
            err.flush();
            return 2;
        }
        ObjectNode body = AdminClient.Json.MAPPER.createObjectNode();
        putIf(body, "to", request.to());
        putIf(body, "user", request.user());
        putIf(body, "password", request.password());
        putIf(body, "timeout", timeout);
        Duration wait = (request.timeout() == null ? DEFAULT_WAIT : request.timeout()).plusMinutes(1);
        int[] kept = {0};
        int status = parent.call(spec, "POST", "/handoff", body.toString(), wait, (answer, out) -> {
            kept[0] = answer.get("kept").asInt();
            out.println(counts(answer.get("handed_off").asInt(), answer.get("refused").asInt(),
                    answer.get("hop_limit").asInt(), answer.get("unfinished").asInt(),
                    "the running relay (" + dir + ")", kept[0]));
        });
        return status == 0 && kept[0] > 0 ? 1 : status;
    }

    private static void putIf(ObjectNode body, String field, String value) {
        if (value != null) {
            body.put(field, value);
        }
    }

    private static String counts(int handedOff, int refused, int hopLimit, int unfinished, Object where, int kept) {
        return "handed off " + handedOff + ", refused by the peer " + refused + ", at the hop limit " + hopLimit
                + ", unfinished " + unfinished + "; kept in " + where + ": " + kept;
    }
}
