package dev.relay.server;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;

/**
 * What {@code relay --version} prints: the relay's version, the git commit it was built from (with {@code -dirty}
 * when the tree had uncommitted changes, {@code unknown} when it was built outside a git checkout, as in the
 * image's build context), and the Java runtime it runs on.
 */
final class VersionInfo implements CommandLine.IVersionProvider {
    private static final String RESOURCE = "version.properties";

    static Properties build() {
        Properties p = new Properties();
        try (InputStream in = VersionInfo.class.getResourceAsStream(RESOURCE)) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // an unreadable resource only means "unknown" below
        }
        return p;
    }

    /** The value of a filtered key, or {@code unknown} when the build did not fill it in. */
    static String value(Properties p, String key) {
        String v = p.getProperty(key, "").trim();
        return v.isEmpty() || v.startsWith("${") ? "unknown" : v;
    }

    static String version() {
        return value(build(), "version");
    }

    static String commit() {
        Properties p = build();
        String c = value(p, "commit");
        return !c.equals("unknown") && "true".equals(p.getProperty("dirty")) ? c + "-dirty" : c;
    }

    static String runtime() {
        return System.getProperty("java.vm.vendor", "?") + " " + System.getProperty("java.runtime.version", "?")
                + " (" + System.getProperty("java.home", "?") + ")";
    }

    @Override
    public String[] getVersion() {
        return new String[] {
                "relay " + version(),
                "commit: " + commit(),
                "java: " + runtime(),
        };
    }
}
