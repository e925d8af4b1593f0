package dev.relay.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ServeArgsTest {

    @Test
    void knowsExactlyServesOptionsLessHelpAndVersion() {
        Set<String> picocli = new CommandLine(new ServeCommand()).getCommandSpec().options().stream()
                .flatMap(o -> Arrays.stream(o.names()))
                .filter(n -> !Set.of("-h", "--help", "-V", "--version").contains(n))
                .collect(Collectors.toSet());
        assertThat(ServeArgs.NAMES).isEqualTo(picocli);
    }

    @Test
    void readsEveryPlainLineAsPicocliDoes() {
        List<String[]> lines = List.of(
                new String[] {"serve"},
                new String[] {"serve", "--config", "/etc/relay/relay.yaml"},
                new String[] {"serve", "--config=relay.yaml", "--grace", "PT5S"},
                new String[] {"serve", "--data-dir", "/tmp/d", "--demo-ports", "1,2,3,4"},
                new String[] {"serve", "--demo-ports=12587,12465,12525,19090", "--data-dir=x/y", "--log-format", "json"},
                new String[] {"serve", "--log-format=whatever", "--grace=PT1M30S", "--config", "a=b.yaml"},
                new String[] {"serve", "--grace", "P1DT2H", "--data-dir", "with space"});
        for (String[] line : lines) {
            ServeCommand fast = ServeArgs.parse(line);
            assertThat(fast).as(String.join(" ", line)).isNotNull();
            CommandLine cl = Main.commandLine(line);
            ServeCommand slow = (ServeCommand) cl.parseArgs(line).subcommand().commandSpec().userObject();
            assertThat(List.of(String.valueOf(fast.choice.config()), fast.choice.dataDir(),
                    String.valueOf(fast.demoPorts), fast.logFormat, fast.grace))
                    .as(String.join(" ", line))
                    .isEqualTo(List.of(String.valueOf(slow.choice.config()), slow.choice.dataDir(),
                            String.valueOf(slow.demoPorts), slow.logFormat, slow.grace));
        }
    }

    @Test
    void leavesHelpVersionAndEveryErrorToPicocli() {
        List<String[]> lines = List.of(
                new String[] {},
                new String[] {"sink"},
                new String[] {"--log-format", "json", "serve"},
                new String[] {"serve", "--help"},
                new String[] {"serve", "-h"},
                new String[] {"serve", "--version"},
                new String[] {"serve", "-V"},
                new String[] {"serve", "--config"},
                new String[] {"serve", "--config="},
                new String[] {"serve", "--config", "a.yaml", "--config", "b.yaml"},
                new String[] {"serve", "--config", "--data-dir"},
                new String[] {"serve", "--bogus", "1"},
                new String[] {"serve", "--bogus=1"},
                new String[] {"serve", "positional", "argument"},
                new String[] {"serve", "--grace", "twenty seconds"},
                new String[] {"serve", "--grace=-PT1S"},
                new String[] {"serve", "--data-dir", "bad\0path"},
                new String[] {"serve", "@arguments.txt"},
                new String[] {"serve", "--config", "@arguments.txt"},
                new String[] {"serve", "--", "--config", "a.yaml"});
        for (String[] line : lines) {
            assertThat(ServeArgs.parse(line)).as(String.join(" ", line)).isNull();
        }
    }

    @Test
    void aServeThatThrowsExitsWithOneAsPicocliWould() {
        ServeCommand broken = new ServeCommand(); // no configuration choice: call() fails
        assertThat(ServeArgs.run(broken)).isEqualTo(1);
        assertThat(new CommandLine(broken).setErr(new java.io.PrintWriter(java.io.Writer.nullWriter()))
                .getCommandSpec().exitCodeOnExecutionException()).isEqualTo(1);
    }
}
