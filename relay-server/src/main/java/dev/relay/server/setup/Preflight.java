package dev.relay.server.setup;

import dev.relay.config.RelayConfig;
import dev.relay.config.RouteConfig;
import dev.relay.config.TlsMode;
import dev.relay.core.auth.UsersFile;
import dev.relay.core.auth.UsersFileException;
import dev.relay.core.dkim.DkimKey;
import dev.relay.core.tls.Pem;
import dev.relay.server.receive.tls.ServerCertificates;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks that the files a configuration names can be used, without starting anything: what {@code relay serve}
 * and {@code relay check-config} run before starting, and a reload before it applies a configuration (the users
 * file, the certificates, trust bundles and each route's DKIM key).
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
        dkimKeys(config, problems, null);
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

    /** What can be used but should be changed, one line each: an RSA DKIM key shorter than recommended. */
    public static List<String> warnings(RelayConfig config) {
        List<String> warnings = new ArrayList<>();
        dkimKeys(config, new ArrayList<>(), warnings);
        return warnings;
    }

    /** Reads each route's DKIM key as the routing stage will; problems and (if asked) warnings. */
    private static void dkimKeys(RelayConfig config, List<String> problems, List<String> warnings) {
        for (int i = 0; i < config.routes().size(); i++) {
            RouteConfig r = config.routes().get(i);
            if (r.dkim() == null) {
                continue;
            }
            String key = "routes[" + i + "].dkim.key-file: ";
            try {
                DkimKey k = DkimKey.load(r.dkim().keyFile(), r.dkim().algorithm());
                if (warnings != null && k.weak()) {
                    warnings.add(key + "the RSA key in " + r.dkim().keyFile() + " has " + k.bits() + " bits; "
                            + DkimKey.RECOMMENDED_RSA_BITS + " or more are recommended (RFC 8301): make a new one "
                            + "with openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 and publish it "
                            + "under a new selector");
                }
            } catch (IOException e) {
                problems.add(key + e.getMessage());
            }
        }
    }

    /** True if a listener speaks TLS (STARTTLS or implicit): the relay then needs its certificate. */
    public static boolean needsTls(RelayConfig config) {
        return config.listeners().stream().anyMatch(l -> l.tls() != TlsMode.NONE);
    }
}
