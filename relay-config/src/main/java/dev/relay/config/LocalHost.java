package dev.relay.config;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** The default hostname: this machine's name, or {@code localhost} if it has none. */
final class LocalHost {
    private static volatile String cached;

    private LocalHost() {
    }

    static String name() {
        String name = cached;
        if (name == null) {
            try {
                name = InetAddress.getLocalHost().getHostName();
            } catch (UnknownHostException | SecurityException e) {
                name = "localhost";
            }
            cached = name;
        }
        return name;
    }
}
