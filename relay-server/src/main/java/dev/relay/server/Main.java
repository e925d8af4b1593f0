package dev.relay.server;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code relay} command line: one subcommand per job. */
@Command(name = "relay", mixinStandardHelpOptions = true, version = "relay 0.1.0",
        description = "An authenticated SMTP relay: submission in, durable spool, smarthost out.",
        subcommands = {ServeCommand.class, SinkCommand.class, PasswdCommand.class, CheckConfigCommand.class,
                QueueCommand.class})
public final class Main implements Runnable {

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    static CommandLine commandLine() {
        return new CommandLine(new Main());
    }

    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }
}
