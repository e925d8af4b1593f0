package dev.relay.server;

import dev.relay.config.DkimConfig;
import dev.relay.core.dkim.DkimKey;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "dkim-record", mixinStandardHelpOptions = true,
        description = {"Prints the DNS TXT record that publishes the public key of a DKIM private key, in zone "
                + "file form (strings of at most 255 characters): publish it before a route signs with the key.",
                "Example: relay dkim-record --key-file /etc/relay/dkim.pem --selector relay2026 --domain "
                        + "example.com"})
final class DkimRecordCommand implements Callable<Integer> {
    @Option(names = "--key-file", required = true, description = "The PEM private key (as routes[].dkim.key-file).")
    Path keyFile;

    @Option(names = "--selector", required = true, description = "The selector (as routes[].dkim.selector).")
    String selector;

    @Option(names = "--domain", required = true, description = "The signing domain (as routes[].dkim.domain).")
    String domain;

    @Option(names = "--algorithm", defaultValue = "rsa-sha256", description = "rsa-sha256 (default) or ed25519-sha256.")
    String algorithm;

    @Override
    public Integer call() {
        DkimKey key;
        try {
            key = DkimKey.load(keyFile, DkimConfig.Algorithm.parse(algorithm));
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("relay dkim-record: " + e.getMessage());
            return 2;
        }
        if (key.weak()) {
            System.err.println("relay dkim-record: warning: the key has " + key.bits() + " bits; "
                    + DkimKey.RECOMMENDED_RSA_BITS + " or more are recommended (RFC 8301)");
        }
        String record = key.dnsRecord();
        List<String> strings = new ArrayList<>();
        for (int i = 0; i < record.length(); i += 255) {
            strings.add("\"" + record.substring(i, Math.min(record.length(), i + 255)) + "\"");
        }
        System.out.println(selector + "._domainkey." + domain + ". IN TXT ( " + String.join(" ", strings) + " )");
        return 0;
    }
}
