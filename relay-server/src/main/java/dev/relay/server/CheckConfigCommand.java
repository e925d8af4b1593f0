package dev.relay.server;

import dev.relay.config.ConfigException;
import dev.relay.config.ConfigLoader;
import dev.relay.config.LoadedConfig;
import dev.relay.server.setup.Preflight;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "check-config", mixinStandardHelpOptions = true,
        description = {"Validates a configuration file (with RELAY_* environment overrides applied), checks the "
                + "files it names (users file, certificate and key, trust bundles, DKIM keys) and prints the "
                + "effective configuration with secrets masked. Exit status 0 when valid, 2 when not."})
final class CheckConfigCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FILE", description = "The YAML configuration file.")
    Path file;

    @Override
    public Integer call() {
        LoadedConfig loaded;
        try {
            loaded = ConfigLoader.load(file, System.getenv());
        } catch (ConfigException e) {
            System.err.println("relay: invalid configuration in " + file + ":");
            System.err.println(e.getMessage());
            return 2;
        }
        loaded.warnings().forEach(w -> System.err.println("warning: " + w));
        List<String> problems = Preflight.problems(loaded.config());
        if (!problems.isEmpty()) {
            System.err.println("relay: configuration in " + file + " names files that cannot be used:");
            problems.forEach(p -> System.err.println("  " + p));
            return 2;
        }
        Preflight.warnings(loaded.config()).forEach(w -> System.err.println("warning: " + w));
        System.out.print(loaded.config().toMaskedYaml());
        System.err.println("configuration OK");
        return 0;
    }
}
