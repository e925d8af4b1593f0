package dev.relay.server;

import dev.relay.core.auth.UsersFile;
import java.io.BufferedReader;
import java.io.Console;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "passwd", mixinStandardHelpOptions = true,
        description = {"Prints a users-file line (USER:bcrypt-hash) for USER.",
                "The password is read from standard input (first line) or, on a terminal, asked for twice.",
                "Example: echo 's3cret' | relay passwd alice >> /etc/relay/users"})
final class PasswdCommand implements Callable<Integer> {
    @Parameters(paramLabel = "USER", description = "The user name.")
    String user;

    @Override
    public Integer call() throws Exception {
        char[] password;
        Console console = System.console();
        if (isTerminal(console)) {
            password = console.readPassword("Password for %s: ", user);
            char[] again = console.readPassword("Again: ");
            if (password == null || again == null || !Arrays.equals(password, again)) {
                System.err.println("relay passwd: the passwords differ");
                return 1;
            }
        } else {
            String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            if (line == null) {
                System.err.println("relay passwd: no password on standard input");
                return 1;
            }
            password = line.toCharArray();
        }
        try {
            System.out.println(UsersFile.line(user, password));
            return 0;
        } catch (IllegalArgumentException e) {
            System.err.println("relay passwd: " + e.getMessage());
            return 1;
        } finally {
            Arrays.fill(password, '\0');
        }
    }

    /**
     * From JDK 22 on, System.console() is not null when input is piped; Console.isTerminal() (22+) tells. On 21 a
     * non-null console is a terminal.
     */
    private static boolean isTerminal(Console console) {
        if (console == null) {
            return false;
        }
        try {
            return (Boolean) Console.class.getMethod("isTerminal").invoke(console);
        } catch (ReflectiveOperationException e) {
            return true;
        }
    }
}
