package dev.relay.it;

import dev.relay.it.Dockerfile.Instruction;
import dev.relay.it.Dockerfile.Stage;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Reproduces what one Dockerfile stage does to its file system, in a directory standing for the stage's
 * {@code /}: {@code COPY} from the build context (honouring {@code .dockerignore}) or {@code --from} an earlier
 * stage's directory, {@code WORKDIR}, and the state {@code ARG}, {@code ENV} and {@code USER} leave. {@code RUN}
 * goes to the caller, with the working directory and the commands' words. With no directory (null) only the
 * state is kept. Instructions it cannot reproduce ({@code ADD}, {@code SHELL}, {@code ONBUILD}, unknown flags)
 * make it throw.
 */
final class StageLayout {
    /** What to do for a RUN instruction: {@code cwd} is the mapped WORKDIR (null without a directory). */
    interface RunStep {
        void run(Instruction run, Path cwd, List<List<String>> commands) throws Exception;
    }

    /** A COPY: the instruction and the absolute path it copied to. */
    record Copy(Instruction instruction, String destination, boolean intoDirectory) {
    }

    private static final Set<String> COPY_FLAGS = Set.of("from", "chmod", "chown", "link");
    private static final Set<String> RUN_FLAGS = Set.of("mount", "network", "security");
    private static final Set<String> METADATA = Set.of("LABEL", "EXPOSE", "VOLUME", "HEALTHCHECK", "STOPSIGNAL",
            "ENTRYPOINT", "CMD", "MAINTAINER");

    private final Path root;
    private final Path context;
    private final DockerIgnore ignore;
    private final Map<String, Path> stageRoots;
    final Map<String, String> vars = new LinkedHashMap<>();
    final Map<String, String> env = new LinkedHashMap<>();
    final List<Copy> copies = new ArrayList<>();
    String workdir = "/";
    String user = "root";

    /**
     * @param root       the directory standing for the stage's {@code /}, or null for the state alone
     * @param context    the build context
     * @param stageRoots the directories of earlier stages, by name, for {@code COPY --from}
     */
    StageLayout(Path root, Path context, DockerIgnore ignore, Map<String, Path> stageRoots) {
        this.root = root;
        this.context = context;
        this.ignore = ignore;
        this.stageRoots = stageRoots;
    }

    void apply(Stage stage, RunStep onRun) throws Exception {
        for (Instruction i : stage.instructions()) {
            switch (i.keyword()) {
                case "WORKDIR" -> {
                    workdir = absolute(Dockerfile.words(i.args(), vars).get(0));
                    if (root != null) {
                        Files.createDirectories(map(workdir));
                    }
                }
                case "ARG", "ENV" -> Dockerfile.assignments(i.args(), vars).forEach((k, v) -> {
                    vars.put(k, v);
                    if (i.keyword().equals("ENV")) {
                        env.put(k, v);
                    }
                });
                case "USER" -> user = Dockerfile.words(i.args(), vars).get(0);
                case "COPY" -> copy(i);
                case "RUN" -> {
                    unknownFlags(i, RUN_FLAGS);
                    List<List<String>> commands = i.args().startsWith("[")
                            ? List.of(Dockerfile.jsonOrWords(i.args(), vars))
                            : Dockerfile.commands(i.args(), vars);
                    onRun.run(i, root == null ? null : map(workdir), commands);
                }
                default -> {
                    if (!METADATA.contains(i.keyword())) {
                        throw new IllegalArgumentException("cannot reproduce " + i);
                    }
                }
            }
        }
    }

    /** The directory that stands for an absolute path of the stage. */
    Path map(String path) {
        return root.resolve(DockerIgnore.clean(absolute(path)));
    }

    /** An absolute, clean path: relative ones are taken from WORKDIR. */
    String absolute(String path) {
        String p = path.startsWith("/") ? path : workdir + "/" + path;
        String clean = DockerIgnore.clean(p);
        return clean.equals(".") ? "/" : "/" + clean;
    }

    private void copy(Instruction i) throws IOException {
        unknownFlags(i, COPY_FLAGS);
        List<String> args = Dockerfile.jsonOrWords(i.args(), vars);
        if (args.size() < 2) {
            throw new IllegalArgumentException("COPY needs a source and a destination: " + i);
        }
        String from = i.flag("from");
        Path sourceRoot = from == null ? context : stageRoots.get(from);
        if (from != null && sourceRoot == null && root != null) {
            throw new IllegalArgumentException("no stage " + from + " laid out for " + i);
        }
        DockerIgnore filter = from == null ? ignore : DockerIgnore.parse("");
        String dest = args.get(args.size() - 1);
        List<String> sources = args.subList(0, args.size() - 1);
        String destination = absolute(dest);
        boolean intoDirectory = dest.endsWith("/") || dest.equals(".") || sources.size() > 1
                || sources.stream().anyMatch(StageLayout::isGlob)
                || (root != null && Files.isDirectory(map(destination)));
        copies.add(new Copy(i, destination, intoDirectory));
        if (root == null || sourceRoot == null) {
            return;
        }
        for (String source : sources) {
            List<String> matches = isGlob(source) ? glob(sourceRoot, source, filter)
                    : List.of(DockerIgnore.clean(source));
            if (matches.isEmpty() || matches.stream().anyMatch(m -> !Files.exists(sourceRoot.resolve(m))
                    || (filter.excludes(m) && !(Files.isDirectory(sourceRoot.resolve(m)) && filter.hasExceptions())))) {
                throw new IllegalStateException(i + ": " + source + " is not in the "
                        + (from == null ? "build context (or .dockerignore leaves it out)" : "stage " + from));
            }
            for (String match : matches) {
                Path src = sourceRoot.resolve(match);
                Path target = map(destination);
                if (Files.isDirectory(src)) {
                    copyTree(src, match, target, filter, i.flag("chmod"));
                } else {
                    Path file = intoDirectory ? target.resolve(src.getFileName().toString()) : target;
                    copyFile(src, file, i.flag("chmod"));
                }
            }
        }
    }

    /** A directory's contents (not the directory itself, as COPY does) without what .dockerignore leaves out. */
    private static void copyTree(Path src, String relative, Path target, DockerIgnore filter, String chmod)
            throws IOException {
        Path real = src.toRealPath();
        Files.createDirectories(target);
        Files.walkFileTree(real, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                if (dir.equals(real)) {
                    return FileVisitResult.CONTINUE;
                }
                String rel = relative.equals(".") ? real.relativize(dir).toString()
                        : relative + "/" + real.relativize(dir);
                if (filter.excludes(rel) && !filter.hasExceptions()) {
                    return FileVisitResult.SKIP_SUBTREE;
                }
                if (!filter.excludes(rel)) {
                    Files.createDirectories(target.resolve(real.relativize(dir).toString()));
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                String rel = relative.equals(".") ? real.relativize(file).toString()
                        : relative + "/" + real.relativize(file);
                if (!filter.excludes(rel)) {
                    copyFile(file, target.resolve(real.relativize(file).toString()), chmod);
                }
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private static void copyFile(Path src, Path target, String chmod) throws IOException {
        Files.createDirectories(target.getParent());
        Files.copy(src, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
        if (chmod != null) {
            Files.setPosixFilePermissions(target, permissions(Integer.parseInt(chmod, 8)));
        }
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> out = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
                PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE,
                PosixFilePermission.GROUP_READ, PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
                PosixFilePermission.OWNER_READ};
        for (int bit = 0; bit < order.length; bit++) {
            if ((mode & (1 << bit)) != 0) {
                out.add(order[bit]);
            }
        }
        return out;
    }

    private static boolean isGlob(String source) {
        return source.chars().anyMatch(c -> c == '*' || c == '?' || c == '[');
    }

    /** The paths a wildcard source names (Go's filepath.Match: * and ? within a segment). */
    private static List<String> glob(Path sourceRoot, String pattern, DockerIgnore filter) throws IOException {
        String clean = DockerIgnore.clean(pattern);
        PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + clean);
        int depth = clean.split("/").length;
        try (Stream<Path> s = Files.walk(sourceRoot, depth)) {
            return s.map(p -> sourceRoot.relativize(p).toString())
                    .filter(rel -> !rel.isEmpty() && matcher.matches(Path.of(rel)) && !filter.excludes(rel))
                    .sorted().toList();
        }
    }

    private static void unknownFlags(Instruction i, Set<String> known) {
        for (String flag : i.flags().keySet()) {
            if (!known.contains(flag)) {
                throw new IllegalArgumentException("the flag --" + flag + " is not understood: " + i);
            }
        }
    }
}
