package dev.relay.server.setup;

import dev.relay.config.RelayConfig;
import dev.relay.config.TlsMode;
import dev.relay.core.auth.UsersFile;
import dev.relay.core.auth.UsersFileException;
import dev.relay.core.tls.Pem;
import dev.relay.server.receive.tls.ServerCertificates;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks that the files a configuration names can be used, without starting anything: what {@code relay serve}
 * and {@code relay check-config} run before starting, and a reload before it applies a configuration.
 */
public final class Preflight {
    private Preflight() {
    }

    /** The problems found, one line each ({@code key: problem}); empty if every named file can be used. */
    public static List<String> problems(RelayConfig config) {
        List<String> problems = new ArrayList<>();
        try {
            if (config.auth().usersFile() != null) {
                UsersFile.load(config.auth().usersFile());
            }
        } catch (UsersFileException e) {
            problems.add("auth.users-file: " + e.getMessage());
        }
        if (needsTls(config)) {
            try {
                ServerCertificates.load(config.tls());
            } catch (IOException e) {
                problems.add("tls: " + e.getMessage());
            }
        }
        for (int i = 0; i < config.upstreams().size(); i++) {
            trust(problems, "upstreams[" + i + "].trust", config.upstreams().get(i).trust());
        }
        // the hand-off's trust is read at the stop: a file that cannot be used must show now, not then
        trust(problems, "handoff.trust", config.handoff().trust());
        return problems;
    }

    private static void trust(List<String> problems, String key, java.nio.file.Path file) {
        if (file != null) {
            try {
                Pem.readCertificates(file);
            } catch (IOException e) {
                problems.add(key + ": " + e.getMessage());
            }
        }
    }

    /** True if a listener speaks TLS (STARTTLS or implicit): the relay then needs its certificate. */
    public static boolean needsTls(RelayConfig config) {
        return config.listeners().stream().anyMatch(l -> l.tls() != TlsMode.NONE);
    }
}
