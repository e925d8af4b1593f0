package dev.relay.server;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import picocli.CommandLine;

/** One run of a {@code relay} command in this JVM: its exit status, standard output and error. */
record CliRun(int status, String out, String err) {

    /** {@code relay check-config config}. */
    static CliRun of(Path config) {
        return of("check-config", config.toString());
    }

    static CliRun of(String... args) {
        return withInput("", args);
    }

    /** The command with {@code stdin} on its standard input. */
    static CliRun withInput(String stdin, String... args) {
        InputStream oldIn = System.in;
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            CommandLine cl = Main.commandLine();
            StringWriter picoErr = new StringWriter();
            cl.setErr(new PrintWriter(picoErr));
            int status = cl.execute(args);
            return new CliRun(status, out.toString(StandardCharsets.UTF_8),
                    err.toString(StandardCharsets.UTF_8) + picoErr);
        } finally {
            System.setIn(oldIn);
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }
}
