package dev.relay.server;

import dev.relay.server.setup.ConfigChoice;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * {@code relay serve}'s options read without picocli, for the start-up time: picocli 4.7 is compiled for Java 5, so
 * its classes cannot go into the release's AOT cache, and building and parsing even serve's command alone costs
 * about 90 ms of CPU of every start (docs/performance.md, "Start-up").
 *
 * <p>It reads only the plain case: {@code serve} followed by its five options, each at most once, as
 * {@code --name value} or {@code --name=value}, with values that convert. Anything else (help, version, an unknown,
 * repeated or malformed option, a value that does not convert, an {@code @file}) gives null, and picocli, which
 * stays the authority, parses the same arguments: so help and every error read as they always did.
 * {@code ServeArgsTest} checks that both read every accepted line the same and know the same options.
 */
final class ServeArgs {
    /** The options read here: exactly serve's picocli options less help and version (ServeArgsTest). */
    static final Set<String> NAMES = Set.of("--config", "--data-dir", "--demo-ports", "--log-format", "--grace");

    private ServeArgs() {
    }

    /** The serve command {@code args} ask for, or null when picocli should read them. */
    static ServeCommand parse(String[] args) {
        if (args.length == 0 || !args[0].equals("serve")) {
            return null;
        }
        Map<String, String> given = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            String arg = args[i];
            String name;
            String value;
            int eq = arg.indexOf('=');
            if (eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            } else if (i + 1 < args.length) {
                name = arg;
                value = args[++i];
            } else {
                return null;
            }
            if (!NAMES.contains(name) || value.isEmpty() || value.startsWith("-") || value.startsWith("@")
                    || given.putIfAbsent(name, value) != null) {
                return null;
            }
        }
        try {
            ServeCommand serve = new ServeCommand();
            String config = given.get("--config");
            serve.choice = ConfigChoice.of(config == null ? null : Path.of(config),
                    Path.of(given.getOrDefault("--data-dir", ConfigChoice.DEFAULT_DATA_DIR)));
            serve.demoPorts = given.get("--demo-ports");
            serve.logFormat = given.getOrDefault("--log-format", ServeCommand.DEFAULT_LOG_FORMAT);
            serve.grace = Duration.parse(given.getOrDefault("--grace", ServeCommand.DEFAULT_GRACE));
            return serve;
        } catch (InvalidPathException | DateTimeParseException e) {
            return null; // picocli's message names the option and the value
        }
    }

    /**
     * Runs {@code serve} as picocli's {@code execute} would: its exit code, or, when it throws, the stack trace on
     * standard error and 1.
     */
    static int run(ServeCommand serve) {
        try {
            return serve.call();
        } catch (Exception e) {
            e.printStackTrace();
            return 1;
        }
    }
}
