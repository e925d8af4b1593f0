package dev.relay.core.auth;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The users file, reloaded when its content changes. The content is compared (not the modification time alone)
 * and read through symbolic links, so a Kubernetes secret update, which swaps a symlink, is seen. A new file that
 * does not load is logged (with line numbers, never a hash) and the users loaded before are kept.
 */
public final class ReloadingUsersFile {
    private static final Logger log = LoggerFactory.getLogger(ReloadingUsersFile.class);

    private final Path file;
    private volatile UsersFile current;
    private byte[] fingerprint;

    public ReloadingUsersFile(Path file) throws UsersFileException {
        this.file = file;
        this.fingerprint = fingerprint(file);
        this.current = UsersFile.load(file);
    }

    public UsersFile current() {
        return current;
    }

    public Path file() {
        return file;
    }

    /**
     * Loads the file again if its content changed since the last look.
     *
     * @return true if new users were loaded
     */
    public synchronized boolean reloadIfChanged() {
        byte[] now = fingerprint(file);
        if (now == null || Arrays.equals(now, fingerprint)) {
            return false; // unreadable for a moment (being replaced), or unchanged
        }
        fingerprint = now;
        return load();
    }

    /**
     * Loads the file again now, changed or not (an operator's reload, e.g. SIGHUP), and logs what changed by user
     * name. A file that does not load is logged and the users loaded before are kept.
     *
     * @return true if the file was loaded
     */
    public synchronized boolean reload() {
        fingerprint = fingerprint(file);
        return load();
    }

    private boolean load() {
        try {
            UsersFile loaded = UsersFile.load(file);
            UsersFile before = current;
            current = loaded;
            log.info("users file {} reloaded: {} users ({})", file, loaded.users().size(),
                    loaded.changesSince(before));
            return true;
        } catch (UsersFileException e) {
            log.error("users file {} cannot be used, keeping the {} users loaded before: {}", file,
                    current.users().size(), e.getMessage());
            return false;
        }
    }

    private static byte[] fingerprint(Path file) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
        } catch (IOException e) {
            return null;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
