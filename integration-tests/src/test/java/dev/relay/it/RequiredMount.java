package dev.relay.it;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Real file systems for tests that fill or break one: a small tmpfs, a loop-mounted ext4 that a simulated disk error
 * turns read-only. Needs root (CI runs as root). As {@link RequiredTool}: where mounting is not possible the test
 * is skipped with the reason, except under {@code CI=true}, where it fails: the check must not disappear without
 * anyone noticing. {@link #close} unmounts (lazily if busy) and detaches everything it mounted.
 */
final class RequiredMount implements AutoCloseable {
    private final Deque<Path> mounted = new ArrayDeque<>();

    /** Skips (fails under CI=true) when this process cannot mount. */
    static RequiredMount require() throws IOException {
        if (((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).intValue() != 0) {
            unavailable("not root: cannot mount a file system to fill or break");
        }
        RequiredTool.find("mount", "Debian: apt-get install mount");
        RequiredTool.find("umount", "Debian: apt-get install mount");
        return new RequiredMount();
    }

    private static void unavailable(String why) {
        if (RequiredTool.onCi()) {
            fail("CI=true and " + why + ": CI runs as root, so this check must run here");
        }
        Assumptions.abort(why);
    }

    /** A tmpfs of {@code size} (e.g. "16m") on {@code dir} (created). */
    Path tmpfs(Path dir, String size) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        String error = run("mount", "-t", "tmpfs", "-o", "size=" + size + ",mode=0700", "tmpfs", dir.toString());
        if (error != null) {
            unavailable("cannot mount a tmpfs: " + error);
        }
        mounted.push(dir);
        return dir;
    }

    /** A new ext4 image of {@code size} (e.g. "64M") at {@code image}, mounted errors=remount-ro on {@code dir}. */
    Path ext4(Path image, Path dir, String size) throws IOException, InterruptedException {
        RequiredTool.find("mkfs.ext4", "Debian: apt-get install e2fsprogs");
        RequiredTool.find("e2fsck", "Debian: apt-get install e2fsprogs");
        RequiredTool.find("losetup", "Debian: apt-get install mount");
        String error = run("truncate", "-s", size, image.toString());
        if (error == null) {
            error = run("mkfs.ext4", "-q", "-F", image.toString());
        }
        if (error != null) {
            fail("cannot make an ext4 image: " + error);
        }
        return mountExt4(image, dir);
    }

    /** Mounts the ext4 image {@code image} (loop, errors=remount-ro) on {@code dir} (created). */
    Path mountExt4(Path image, Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        String error = run("mount", "-o", "loop,errors=remount-ro", image.toString(), dir.toString());
        if (error != null) {
            unavailable("cannot loop-mount an ext4 image: " + error);
        }
        mounted.push(dir);
        return dir;
    }

    /**
     * Makes the ext4 file system of {@code image} fail as a disk error would: the kernel aborts its journal and
     * (errors=remount-ro) turns it read-only under its users, who still see it "writable" by its permissions.
     */
    void triggerError(Path image) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("losetup", "-j", image.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        p.waitFor(30, TimeUnit.SECONDS);
        if (!out.startsWith("/dev/loop")) {
            fail("no loop device for " + image + ": " + out);
        }
        String loop = Path.of(out.substring(0, out.indexOf(':'))).getFileName().toString();
        Path trigger = Path.of("/sys/fs/ext4", loop, "trigger_fs_error");
        if (!Files.exists(trigger)) {
            unavailable("this kernel has no " + trigger + " to simulate a disk error");
        }
        Files.writeString(trigger, "1");
    }

    /** Unmounts {@code dir}; lazily when it is still busy. Its loop device goes with it. */
    void unmount(Path dir) throws IOException, InterruptedException {
        if (run("umount", dir.toString()) != null) {
            run("umount", "-l", dir.toString());
        }
        mounted.remove(dir);
    }

    @Override
    public void close() throws IOException, InterruptedException {
        while (!mounted.isEmpty()) {
            unmount(mounted.peek());
        }
    }

    /** Runs a command; null when it succeeded, else its exit status and output. */
    static String run(String... command) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            return e.toString();
        }
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return String.join(" ", command) + ": no answer within 60 s";
        }
        String output = new String(p.getInputStream().readAllBytes()).strip();
        return p.exitValue() == 0 ? null : String.join(" ", command) + ": exit " + p.exitValue() + ": " + output;
    }
}
