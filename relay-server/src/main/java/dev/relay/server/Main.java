package dev.relay.server;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code relay} command line: one subcommand per job. */
@Command(name = "relay", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class,
        description = "An authenticated SMTP relay: submission in, durable spool, smarthost out.",
        subcommands = {ServeCommand.class, SinkCommand.class, PasswdCommand.class, CheckConfigCommand.class,
                QueueCommand.class, HistoryCommand.class, TraceCommand.class, DkimRecordCommand.class,
                dev.relay.server.doctor.DoctorCommand.class})
public final class Main implements Runnable {

    public static void main(String[] args) {
        selectLogFormat(args, System.getenv());
        ServeCommand serve = ServeArgs.parse(args); // relay serve's plain options, without picocli's start-up
        System.exit(serve != null ? ServeArgs.run(serve) : commandLine(args).execute(args));
    }

    /**
     * Logging is configured when the first logger is made, before picocli parses anything: take
     * {@code --log-format} (or RELAY_LOG_FORMAT) from the raw arguments first. Unknown formats fall back to text
     * with a note, so a typo never silences the logs.
     */
    static void selectLogFormat(String[] args, java.util.Map<String, String> env) {
        String format = env.getOrDefault("RELAY_LOG_FORMAT", "text");
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--log-format") && i + 1 < args.length) {
                format = args[i + 1];
            } else if (args[i].startsWith("--log-format=")) {
                format = args[i].substring("--log-format=".length());
            }
        }
        if (!format.equals("text") && !format.equals("json")) {
            System.err.println("relay: unknown log format '" + format + "' (use text or json); using text");
            format = "text";
        }
        System.setProperty("RELAY_LOG_FORMAT", format);
    }

    /** The whole command tree. */
    static CommandLine commandLine() {
        return new CommandLine(new Main());
    }

    /**
     * The tree {@code args} need: for {@code relay serve ...} the serve command alone under a {@code relay} of its
     * own (picocli reads every command's annotations and makes its object when the tree is built, about 50 ms of
     * a start for the other eight: docs/performance.md, "Start-up"), else the whole tree. {@code relay serve
     * --help} and serve's errors read the same either way.
     */
    static CommandLine commandLine(String[] args) {
        if (args.length > 0 && args[0].equals("serve")) {
            return new CommandLine(new ServeAlone()).addSubcommand(ServeCommand.class);
        }
        return commandLine();
    }

    /** {@code relay} with the serve command alone. */
    @Command(name = "relay", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class)
    static final class ServeAlone implements Runnable {
        @Override
        public void run() {
            CommandLine.usage(this, System.out);
        }
    }

    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }
}
