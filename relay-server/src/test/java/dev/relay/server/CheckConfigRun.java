package dev.relay.server;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import picocli.CommandLine;

/** One run of {@code relay check-config FILE} in this JVM: its exit status, standard output and error. */
record CheckConfigRun(int status, String out, String err) {

    static CheckConfigRun of(Path config) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            CommandLine cl = Main.commandLine();
            StringWriter picoErr = new StringWriter();
            cl.setErr(new PrintWriter(picoErr));
            int status = cl.execute("check-config", config.toString());
            return new CheckConfigRun(status, out.toString(StandardCharsets.UTF_8),
                    err.toString(StandardCharsets.UTF_8) + picoErr);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }
}
