package dev.relay.core.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;

/**
 * The users allowed to submit: an htpasswd-format file ({@code user:hash} per line, {@code #} comments) whose
 * hashes are bcrypt ({@code $2y$}, {@code $2a$}, {@code $2b$}; {@code htpasswd -B} output works as it is).
 * Plaintext and other hash formats are refused at load. Nothing of a hash or a password ever appears in a message.
 */
public final class UsersFile {
    private static final Pattern BCRYPT = Pattern.compile("\\$2[aby]\\$\\d\\d\\$[./A-Za-z0-9]{53}");
    private static final Pattern USER = Pattern.compile("[^\\s:]{1,256}");
    private static final int COST = 10;
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * Checked against when the user is unknown, so unknown and known users take the same time. Made on first use,
     * not when the class loads: a bcrypt hash at cost 10 is tens of milliseconds of start-up otherwise.
     */
    private static final class Dummy {
        static final String HASH = OpenBSDBCrypt.generate("2y", "dummy".toCharArray(), salt(), COST);
    }

    /** A random key per process: the verified-credentials cache holds HMACs under it, never a password. */
    private static final javax.crypto.spec.SecretKeySpec CACHE_KEY = cacheKey();

    private final Map<String, String> hashes;
    /** user -> HMAC of the password last verified for that user (bcrypt once per credential, not per session). */
    private final Map<String, byte[]> verified = new java.util.concurrent.ConcurrentHashMap<>();
    /** Checks running now, by user and HMAC of the password: at most one bcrypt per credential at a time. */
    private final java.util.concurrent.ConcurrentMap<String, java.util.concurrent.CompletableFuture<Boolean>> checking =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicLong bcryptChecks = new java.util.concurrent.atomic.AtomicLong();

    /** user -> digest of its password hash ({@link #credential}), made once per file: MAIL asks for it. */
    private final Map<String, String> credentials;

    private UsersFile(Map<String, String> hashes) {
        this.hashes = Collections.unmodifiableMap(hashes);
        Map<String, String> digests = new java.util.HashMap<>();
        hashes.forEach((user, hash) -> digests.put(user, digest(hash)));
        this.credentials = Collections.unmodifiableMap(digests);
    }

    private static String digest(String hash) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256")
                    .digest(hash.getBytes(StandardCharsets.US_ASCII));
            return java.util.HexFormat.of().formatHex(d, 0, 12);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads and validates the file; every bad line is reported, by number, in one exception. */
    public static UsersFile load(Path file) throws UsersFileException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UsersFileException("cannot read users file " + file + ": " + e.getMessage());
        }
        Map<String, String> hashes = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int colon = line.indexOf(':');
            String where = file + " line " + (i + 1);
            if (colon <= 0) {
                problems.add(where + ": expected user:bcrypt-hash");
                continue;
            }
            String user = line.substring(0, colon);
            String hash = line.substring(colon + 1);
            if (!USER.matcher(user).matches()) {
                problems.add(where + ": user name must not contain spaces or ':'");
            } else if (!BCRYPT.matcher(hash).matches()) {
                problems.add(where + ": user '" + user + "' has no bcrypt hash (plaintext and other formats are "
                        + "refused); make the line with `relay passwd " + user + "` or `htpasswd -nB " + user + "`");
            } else if (hashes.putIfAbsent(user, hash) != null) {
                problems.add(where + ": user '" + user + "' is defined twice");
            }
        }
        if (!problems.isEmpty()) {
            throw new UsersFileException(String.join("\n", problems));
        }
        return new UsersFile(hashes);
    }

    /** Checks a password in time that does not depend on whether the user exists. */
    public boolean authenticate(String user, String password) {
        if (user == null || password == null) {
            return false;
        }
        String hash = hashes.get(user);
        byte[] mac = hash == null ? null : mac(user, password);
        byte[] known = hash == null ? null : verified.get(user);
        if (known != null && java.security.MessageDigest.isEqual(known, mac)) {
            // bcrypt is deliberately slow (tens of ms of CPU); a credential already verified against this file's
            // hash is recognised by its HMAC instead, so many sessions of one application do not each pay it.
            // Failures are never cached: a wrong password always costs the full bcrypt (and the AUTH throttle).
            return true;
        }
        // single flight: sessions that present the same credential at once (an application opening its pool)
        // wait for one bcrypt instead of each running their own
        String key = user + "\0" + java.util.HexFormat.of().formatHex(mac != null ? mac : mac(user, password));
        java.util.concurrent.CompletableFuture<Boolean> mine = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CompletableFuture<Boolean> running = checking.putIfAbsent(key, mine);
        if (running != null) {
            return running.join();
        }
        try {
            byte[] now = hash == null ? null : verified.get(user); // verified while this thread looked?
            boolean ok;
            if (now != null && java.security.MessageDigest.isEqual(now, mac)) {
                ok = true;
            } else {
                bcryptChecks.incrementAndGet();
                ok = OpenBSDBCrypt.checkPassword(hash == null ? Dummy.HASH : hash, password.toCharArray())
                        && hash != null;
                if (ok) {
                    verified.put(user, mac);
                }
            }
            mine.complete(ok);
            return ok;
        } catch (RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            checking.remove(key, mine);
        }
    }

    /** How many checks ran bcrypt (for tests: the cache must not hide a wrong password). */
    long bcryptChecks() {
        return bcryptChecks.get();
    }

    private static byte[] mac(String user, String password) {
        try {
            javax.crypto.Mac m = javax.crypto.Mac.getInstance("HmacSHA256");
            m.init(CACHE_KEY);
            m.update(user.getBytes(StandardCharsets.UTF_8));
            m.update((byte) 0);
            return m.doFinal(password.getBytes(StandardCharsets.UTF_8));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    private static javax.crypto.spec.SecretKeySpec cacheKey() {
        byte[] key = new byte[32];
        RANDOM.nextBytes(key);
        return new javax.crypto.spec.SecretKeySpec(key, "HmacSHA256");
    }

    public Set<String> users() {
        return hashes.keySet();
    }

    /**
     * A short digest of {@code user}'s password hash (never the hash), or null if the user is not in the file: it
     * changes when the password does, so a session can tell that the credential it proved was replaced.
     */
    public String credential(String user) {
        return user == null ? null : credentials.get(user);
    }

    /**
     * What changed from {@code before} to this file, by user name (never a hash): for the reload log line, e.g.
     * {@code added [bob], removed [carol], password changed [app]}, or {@code no change}.
     */
    String changesSince(UsersFile before) {
        List<String> added = new ArrayList<>();
        List<String> changed = new ArrayList<>();
        for (Map.Entry<String, String> e : hashes.entrySet()) {
            String old = before.hashes.get(e.getKey());
            if (old == null) {
                added.add(e.getKey());
            } else if (!old.equals(e.getValue())) {
                changed.add(e.getKey());
            }
        }
        List<String> removed = before.hashes.keySet().stream().filter(u -> !hashes.containsKey(u)).toList();
        List<String> parts = new ArrayList<>();
        if (!added.isEmpty()) {
            parts.add("added " + added);
        }
        if (!removed.isEmpty()) {
            parts.add("removed " + removed);
        }
        if (!changed.isEmpty()) {
            parts.add("password changed " + changed);
        }
        return parts.isEmpty() ? "no change" : String.join(", ", parts);
    }

    /** A users-file line for {@code user} with a fresh bcrypt ($2y$, cost 10) hash of {@code password}. */
    public static String line(String user, char[] password) {
        if (!USER.matcher(user).matches()) {
            throw new IllegalArgumentException("user name must not be empty or contain spaces or ':'");
        }
        if (password.length == 0) {
            throw new IllegalArgumentException("password must not be empty");
        }
        if (password.length > 72) {
            throw new IllegalArgumentException("bcrypt uses at most 72 bytes of a password: choose a shorter one");
        }
        return user + ":" + OpenBSDBCrypt.generate("2y", password, salt(), COST);
    }

    private static byte[] salt() {
        byte[] salt = new byte[16];
        RANDOM.nextBytes(salt);
        return salt;
    }
}
