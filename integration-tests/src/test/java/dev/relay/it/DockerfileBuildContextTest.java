package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.relay.it.Dockerfile.Instruction;
import dev.relay.it.Dockerfile.Stage;
import java.io.File;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * The container image's build, short of Docker (which cannot run here): the Dockerfile's build stage is reproduced
 * from the Dockerfile itself. Its {@code COPY} and {@code WORKDIR} lines lay the build context (as
 * {@code .dockerignore} filters it) out in a temporary directory and its {@code RUN} Maven command runs there,
 * offline, against a local repository without this project's own artifacts (as the image's empty build cache);
 * then everything the runtime stage copies {@code --from} it must exist. The runtime stage is checked against
 * what the launcher needs on the JRE image: only {@code java}, and a class archive directory the non-root user
 * may write that is not the spool; its layout is laid out too and the launcher runs in it.
 */
class DockerfileBuildContextTest {
    private static final Path ROOT = projectRoot();
    private static final Duration BUILD_BOUND = Duration.ofMinutes(15);
    private static final Duration LAUNCHER_BOUND = Duration.ofMinutes(2);
    /** JDK tools the JRE image does not have (with the JDK's bin/ of the test's JVM added at run time). */
    private static final Set<String> JDK_ONLY_TOOLS = Set.of("jcmd", "jps", "jstat", "jstatd", "jmap", "jstack",
            "jinfo", "jhsdb", "jconsole", "jdb", "javac", "javadoc", "javap", "jar", "jarsigner", "jlink", "jmod",
            "jimage", "jdeps", "jdeprscan", "jnativescan", "jpackage", "jshell", "serialver", "jfr", "jwebserver",
            "jrunscript");

    /** The reproduced build stage, shared by the tests that need its output (it takes most of a minute). */
    @TempDir
    static Path shared;
    private static Build build;
    private static Throwable buildFailure;

    @TempDir
    Path tmp;

    private record Build(Dockerfile dockerfile, Stage stage, Path root, Reactor reactor) {
    }

    /** What {@code mvn -pl ... -am} builds from a laid-out context, and what it misses. */
    /** {@code shipped}: the built modules the selected ones need at run time (not those only their tests use). */
    private record Reactor(List<String> problems, Set<String> built, Set<String> selected,
            Map<String, String> artifactIds, Set<String> shipped) {
    }

    // ---------------------------------------------------------------- the build stage's context, without Maven

    @Test
    void buildStageContextHoldsEveryModulesPomAndTheSourcesOfEveryModuleTheBuildMakes() throws Exception {
        assertThat(contextProblems(Files.readString(ROOT.resolve("Dockerfile")), ROOT, tmp.resolve("root")))
                .isEmpty();
    }

    /** Teeth: deleting any one COPY line of the build stage must be caught (it would break the image build). */
    @TestFactory
    Stream<DynamicTest> withoutAnyOneCopyLineOfTheBuildStageTheContextCheckFails() throws IOException {
        String text = Files.readString(ROOT.resolve("Dockerfile"));
        List<Instruction> copies = buildStage(Dockerfile.parse(text)).all("COPY");
        assertThat(copies).isNotEmpty();
        return copies.stream().map(copy -> DynamicTest.dynamicTest("without " + copy, () -> {
            Path root = Files.createTempDirectory(tmp, "root");
            assertThat(contextProblems(Dockerfile.without(text, copy), ROOT, root))
                    .as("problems of the Dockerfile without %s", copy).isNotEmpty();
        }));
    }

    /**
     * A module added to the root pom (as relay-dist is being added) with the Dockerfile left as it is: the check
     * fails and says which line to add.
     */
    @Test
    void aModuleAddedToTheRootPomFailsTheCheckUntilTheBuildStageCopiesItsPom() throws Exception {
        String rootPom = Files.readString(ROOT.resolve("pom.xml"));
        String module = rootPom.contains("<module>relay-dist</module>") ? "relay-dist-2" : "relay-dist";
        Path context = Files.createDirectories(tmp.resolve("context"));
        try (Stream<Path> entries = Files.list(ROOT)) {
            for (Path entry : entries.toList()) {
                if (!entry.getFileName().toString().equals("pom.xml")) {
                    Files.createSymbolicLink(context.resolve(entry.getFileName().toString()), entry);
                }
            }
        }
        Files.writeString(context.resolve("pom.xml"),
                rootPom.replace("</modules>", "  <module>" + module + "</module>\n  </modules>"));
        Files.createDirectories(context.resolve(module + "/src/main/resources"));
        Files.writeString(context.resolve(module + "/pom.xml"), """
                <project xmlns="http://maven.apache.org/POM/4.0.0">
                  <modelVersion>4.0.0</modelVersion>
                  <parent><groupId>dev.relay</groupId><artifactId>relay-parent</artifactId>\
                <version>0.1.0-SNAPSHOT</version></parent>
                  <artifactId>%s</artifactId>
                  <packaging>pom</packaging>
                </project>
                """.formatted(module));
        String dockerfile = Files.readString(ROOT.resolve("Dockerfile"));
        try {
            assertThat(contextProblems(dockerfile, context, tmp.resolve("root")))
                    .anySatisfy(p -> assertThat(p).contains("COPY " + module + "/pom.xml " + module + "/pom.xml"));

            // the one line the Dockerfile's comment asks for is enough
            Instruction last = buildStage(Dockerfile.parse(dockerfile)).all("COPY").getLast();
            List<String> fixed = new ArrayList<>(List.of(dockerfile.split("\n", -1)));
            fixed.add(last.lastLine(), "COPY " + module + "/pom.xml " + module + "/pom.xml");
            assertThat(contextProblems(String.join("\n", fixed), context, tmp.resolve("root-fixed"))).isEmpty();
        } finally {
            deleteLinks(context);
        }
    }

    // ---------------------------------------------------------------- the build stage, built

    @Test
    void buildStageBuildsFromItsContextAloneAndMakesEverythingTheRuntimeStageCopiesFromIt() throws Exception {
        Build b = build();
        List<Instruction> fromBuild = b.dockerfile().image().all("COPY").stream()
                .filter(i -> Objects.equals(i.flag("from"), b.stage().name())).toList();
        assertThat(fromBuild).isNotEmpty();
        for (Instruction copy : fromBuild) {
            List<String> args = Dockerfile.jsonOrWords(copy.args(), Map.of());
            for (String source : args.subList(0, args.size() - 1)) {
                Path path = b.root().resolve(DockerIgnore.clean(source));
                assertThat(path).as("%s: the build stage made %s", copy, source).exists();
                if (Files.isDirectory(path)) {
                    List<String> files = files(path);
                    assertThat(files).as("%s: %s holds jars", copy, source).isNotEmpty()
                            .allSatisfy(f -> assertThat(f).endsWith(".jar"))
                            .noneSatisfy(f -> assertThat(f).startsWith("junit-"))
                            .noneSatisfy(f -> assertThat(f).startsWith("assertj-"))
                            .noneSatisfy(f -> assertThat(f).startsWith("awaitility-"));
                    // the relay's own modules, built from the context (the local repository had none of them)
                    for (String module : b.reactor().shipped()) {
                        if (!b.reactor().selected().contains(module)) {
                            String artifact = b.reactor().artifactIds().get(module);
                            assertThat(files).as("%s holds the jar of %s", source, artifact)
                                    .anySatisfy(f -> assertThat(f).startsWith(artifact + "-"));
                        }
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- the runtime stage and the launcher

    @Test
    void runtimeStageGivesTheNonRootUserAClassArchiveDirectoryOutsideTheSpool() throws Exception {
        String text = Files.readString(ROOT.resolve("Dockerfile"));
        assertThat(classArchiveProblems(text)).isEmpty();

        // teeth: the launcher's default (the user's cache directory: the spool) and no archive setting at all
        RuntimeFacts facts = runtimeFacts(text);
        String home = facts.accounts().get(facts.userName()).home();
        assertThat(classArchiveProblems(text.replaceAll("(?m)^ENV RELAY_CDS_ARCHIVE=\\S*",
                "ENV RELAY_CDS_ARCHIVE=" + home + "/.cache/relay/relay-serve.jsa"))).isNotEmpty();
        Instruction env = Dockerfile.parse(text).image().all("ENV").stream()
                .filter(i -> i.args().contains("RELAY_CDS_ARCHIVE")).findFirst().orElseThrow();
        assertThat(classArchiveProblems(Dockerfile.without(text, env))).isNotEmpty();
    }

    @Test
    void launcherCallsNoJdkOnlyTool() throws IOException {
        Set<String> tools = jdkOnlyTools();
        assertThat(jdkToolsCalled(Files.readString(ROOT.resolve("bin/relay")), tools))
                .as("JDK-only tools bin/relay calls (the image is a JRE: it has only java)").isEmpty();

        // teeth: calls by name, by the runtime's path and in command substitutions are seen; jar files are not
        assertThat(jdkToolsCalled("""
                pid=$(jps -q | head -n 1)
                "$(dirname "$JAVA")/jcmd" "$pid" VM.flags   # jstat here is a comment
                x=$("$JAVA_HOME"/bin/jar tf "$here/lib/relay-server.jar")
                echo "relay-server.jar, jar files and jstat in a message"
                """, tools)).containsExactlyInAnyOrder("jps", "jcmd", "jar");
    }

    /**
     * The image's {@code /opt/relay} laid out from the runtime stage (the build's output, the launcher, the
     * directories its RUN makes), and the launcher run there as the entrypoint, with the image's environment, on a
     * "JRE" (a runtime directory with only {@code bin/java}) and a PATH without any JDK tool: {@code serve --help}
     * takes the launcher's {@code serve} path, so the JVM writes its class archive where the image says, and
     * nothing lands in the spool.
     */
    @Test
    void imageLayoutRunsTheLauncherOnAJreAndWritesTheClassArchiveWhereTheImageSays() throws Exception {
        Build b = build();
        Dockerfile df = b.dockerfile();
        Path image = tmp.resolve("image");
        StageLayout runtime = new StageLayout(image, ROOT, DockerIgnore.of(ROOT),
                Map.of(b.stage().name(), b.root()));
        runtime.apply(df.image(), (run, cwd, commands) -> {
            for (List<String> words : commands) {
                if (words.get(0).equals("mkdir")) {
                    for (String dir : operands(words, Set.of("-m", "--mode"))) {
                        Files.createDirectories(runtime.map(dir));
                    }
                }
            }
        });
        RuntimeFacts facts = runtimeFacts(Files.readString(ROOT.resolve("Dockerfile")));

        // the image holds the runtime, the launcher and the relay's jars, nothing else
        List<String> entrypoint = Dockerfile.jsonOrWords(df.image().all("ENTRYPOINT").getLast().args(), Map.of());
        String launcher = entrypoint.get(0);
        String lib = parent(parent(launcher)) + "/lib";
        assertThat(runtime.map(lib).resolve("relay-server.jar")).as("the launcher's $here/lib/relay-server.jar")
                .isRegularFile();
        assertThat(runtime.map(launcher)).isExecutable();
        List<String> imageFiles = files(image);
        assertThat(imageFiles).allSatisfy(f -> assertThat(f.equals(DockerIgnore.clean(launcher))
                || (f.startsWith(DockerIgnore.clean(lib) + "/") && f.endsWith(".jar")))
                .as("%s is the launcher or a jar in %s", f, lib).isTrue());

        // a JRE: a runtime directory with bin/java alone; a PATH with every system tool but the JDK's
        Path jre = Files.createDirectories(tmp.resolve("jre/bin"));
        Path tools = Files.createDirectories(tmp.resolve("path"));
        Path realJava = Path.of(System.getProperty("java.home"), "bin", "java").toRealPath();
        try {
            Files.createSymbolicLink(jre.resolve("java"), realJava);
            systemToolsWithout(jdkOnlyTools(), tools);
            Map<String, String> env = new LinkedHashMap<>();
            env.put("PATH", jre + File.pathSeparator + tools);
            env.put("JAVA_HOME", jre.getParent().toString());
            env.put("HOME", runtime.map(facts.accounts().get(facts.userName()).home()).toString());
            env.put("LANG", "C.UTF-8");
            facts.env().forEach((k, v) -> env.put(k, v != null && v.startsWith("/") ? runtime.map(v).toString() : v));
            Path entry = runtime.map(launcher);
            Path workdir = runtime.map(runtime.workdir);

            String found = runLauncher(entry, workdir, env, tmp.resolve("find.log"), "--find-java");
            assertThat(found.strip()).isEqualTo(jre.resolve("java").toString());

            String help = runLauncher(entry, workdir, env, tmp.resolve("help.log"), "serve", "--help");
            assertThat(help).contains("Usage:", "serve");

            String archive = facts.env().get("RELAY_CDS_ARCHIVE");
            // a JDK without a base archive (lib/server/classes.jsa) writes none: the launcher runs without it
            boolean jvmCanArchive = Files.isRegularFile(realJava.getParent().resolveSibling("lib/server/classes.jsa"));
            if (archive != null && !archive.isEmpty() && jvmCanArchive) {
                assertThat(runtime.map(archive)).as("the class archive the JVM writes at exit").isNotEmptyFile();
            }
            for (String volume : facts.volumes()) {
                assertThat(files(runtime.map(volume))).as("files in the volume %s after the run", volume).isEmpty();
            }
            assertThat(files(runtime.map(lib))).allSatisfy(f -> assertThat(f).endsWith(".jar"));
        } finally {
            deleteLinks(jre); // links to the system's programs: removed here, never followed
            deleteLinks(tools);
        }
    }

    // ---------------------------------------------------------------- the build, reproduced

    private static synchronized Build build() throws Exception {
        if (build == null && buildFailure == null) {
            try {
                build = reproduceBuild();
            } catch (Exception | AssertionError e) {
                buildFailure = e;
            }
        }
        if (buildFailure instanceof Exception e) {
            throw e;
        } else if (buildFailure instanceof Error e) {
            throw e;
        }
        return build;
    }

    private static Build reproduceBuild() throws Exception {
        Path mvn = mvn();
        Dockerfile df = Dockerfile.parse(Files.readString(ROOT.resolve("Dockerfile")));
        Stage stage = buildStage(df);
        DockerIgnore ignore = DockerIgnore.of(ROOT);
        Path root = Files.createDirectories(shared.resolve("build"));
        Path realRepository = Path.of(System.getProperty("relay.it.localRepository",
                System.getProperty("user.home") + "/.m2/repository"));
        Path repository = localRepositoryWithout(realRepository, groupId(ROOT.resolve("pom.xml")),
                shared.resolve("repository"));
        Reactor[] reactor = new Reactor[1];
        try {
            StageLayout layout = new StageLayout(root, ROOT, ignore, Map.of());
            layout.apply(stage, (run, cwd, commands) -> {
                for (List<String> words : commands) {
                    assertThat(words.get(0)).as("%s: the test reproduces Maven commands only", run).isEqualTo("mvn");
                    reactor[0] = reactor(cwd, words, ROOT, ignore);
                    assertThat(reactor[0].problems()).as("%s", run).isEmpty();
                    runMaven(mvn, cwd, words, repository, layout.env,
                            shared.resolve("mvn-" + run.firstLine() + ".log"));
                }
            });
        } finally {
            deleteLinks(repository);
        }
        assertThat(reactor[0]).as("a RUN mvn in the build stage").isNotNull();
        return new Build(df, stage, root, reactor[0]);
    }

    private static void runMaven(Path mvn, Path cwd, List<String> words, Path repository, Map<String, String> env,
            Path log) throws Exception {
        List<String> command = new ArrayList<>(List.of(mvn.toString(), "-o", "-Dmaven.repo.local=" + repository));
        command.addAll(words.subList(1, words.size()));
        ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().putAll(env);
        long start = System.nanoTime();
        Process p = pb.start();
        if (!p.waitFor(BUILD_BOUND.toMillis(), TimeUnit.MILLISECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            fail("%s did not finish within %s:%n%s", command, BUILD_BOUND, RelayProcess.tail(log));
        }
        assertThat(p.exitValue()).as("%s in %s (the Dockerfile's build stage) failed:%n%s", command, cwd,
                RelayProcess.tail(log)).isZero();
        System.out.printf("DockerfileBuildContextTest: %s took %d s%n", String.join(" ", command),
                Duration.ofNanos(System.nanoTime() - start).toSeconds());
    }

    /** mvn from the PATH, else the Maven running this build; missing: a failure under CI, else a skip. */
    private static Path mvn() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, "mvn");
            if (Files.isExecutable(candidate) && !Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        String home = System.getProperty("relay.it.mavenHome");
        if (home != null && Files.isExecutable(Path.of(home, "bin", "mvn"))) {
            return Path.of(home, "bin", "mvn");
        }
        String why = "no mvn on the PATH: the Dockerfile's build stage cannot be reproduced";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail(why + " (CI installs Debian's maven, .ci/run)");
        }
        Assumptions.abort(why);
        return null;
    }

    /**
     * A local repository that is the real one without one group's artifacts: links to everything else. The
     * image builds with an empty cache, so this project's modules must come from the reactor, never from a
     * repository an earlier {@code mvn install} filled.
     */
    private static Path localRepositoryWithout(Path real, String groupId, Path shadow) throws IOException {
        Path from = real;
        Path to = Files.createDirectories(shadow);
        for (String segment : groupId.split("\\.")) {
            try (Stream<Path> entries = Files.list(from)) {
                for (Path entry : entries.toList()) {
                    if (!entry.getFileName().toString().equals(segment)) {
                        Files.createSymbolicLink(to.resolve(entry.getFileName().toString()), entry);
                    }
                }
            }
            from = from.resolve(segment);
            to = Files.createDirectories(to.resolve(segment));
            if (!Files.isDirectory(from)) {
                break;
            }
        }
        return shadow;
    }

    /** Removes the links (never what they point to) and directories of the shadow repository. */
    private static void deleteLinks(Path shadow) throws IOException {
        if (!Files.exists(shadow)) {
            return;
        }
        Files.walkFileTree(shadow, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file); // not followed: a link to a directory is visited as a file
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    // ---------------------------------------------------------------- the context check

    /** The stage the image copies {@code --from}: the build stage. */
    private static Stage buildStage(Dockerfile df) {
        List<String> froms = df.image().all("COPY").stream().map(i -> i.flag("from")).filter(Objects::nonNull)
                .distinct().toList();
        assertThat(froms).as("the image copies from one build stage").hasSize(1);
        return df.stage(froms.get(0));
    }

    /** What the build stage of {@code dockerfile} would miss, laid out from {@code context} under {@code root}. */
    private static List<String> contextProblems(String dockerfile, Path context, Path root) throws Exception {
        Stage stage = buildStage(Dockerfile.parse(dockerfile));
        DockerIgnore ignore = DockerIgnore.of(context);
        List<String> problems = new ArrayList<>();
        try {
            new StageLayout(Files.createDirectories(root), context, ignore, Map.of()).apply(stage,
                    (run, cwd, commands) -> {
                        for (List<String> words : commands) {
                            if (words.get(0).equals("mvn")) {
                                problems.addAll(reactor(cwd, words, context, ignore).problems());
                            } else {
                                problems.add(run + ": the test reproduces Maven commands only");
                            }
                        }
                    });
        } catch (IllegalStateException e) {
            problems.add(e.getMessage()); // a COPY source missing from the context
        }
        return problems;
    }

    /**
     * The reactor {@code mvn} would read in {@code dir}: every module the root pom lists (and theirs) needs its
     * pom.xml, or Maven stops before building anything ("Child module ... does not exist"); the modules
     * {@code -pl ... -am} builds need their sources as the project has them.
     */
    private static Reactor reactor(Path dir, List<String> mvnWords, Path context, DockerIgnore ignore)
            throws Exception {
        List<String> problems = new ArrayList<>();
        Map<String, String> artifactIds = new LinkedHashMap<>(); // module dir -> artifactId
        Map<String, List<String>> dependsOn = new LinkedHashMap<>(); // module dir -> artifactIds of this group
        Map<String, List<String>> needsAtRunTime = new LinkedHashMap<>(); // the same without test/provided scope
        if (!Files.isRegularFile(dir.resolve("pom.xml"))) {
            problems.add("no pom.xml where the build stage runs mvn: COPY pom.xml ./");
            return new Reactor(problems, Set.of(), Set.of(), artifactIds, Set.of());
        }
        String groupId = groupId(dir.resolve("pom.xml"));
        modules(dir, ".", groupId, problems, artifactIds, dependsOn, needsAtRunTime);

        Set<String> selected = new LinkedHashSet<>();
        boolean alsoMake = false;
        for (int i = 1; i < mvnWords.size(); i++) {
            String w = mvnWords.get(i);
            if ((w.equals("-pl") || w.equals("--projects")) && i + 1 < mvnWords.size()) {
                for (String p : mvnWords.get(++i).split(",")) {
                    if (p.startsWith("!") || p.startsWith("-")) {
                        continue;
                    }
                    String module = p.contains(":") ? artifactIds.entrySet().stream()
                            .filter(e -> e.getValue().equals(p.substring(p.lastIndexOf(':') + 1)))
                            .map(Map.Entry::getKey).findFirst().orElse(null) : DockerIgnore.clean(p);
                    if (module == null || !artifactIds.containsKey(module)) {
                        problems.add("mvn -pl " + p + ": no such module in the context");
                    } else {
                        selected.add(module);
                    }
                }
            } else if (w.equals("-am") || w.equals("--also-make")) {
                alsoMake = true;
            }
        }
        Set<String> built = closure(selected.isEmpty() ? artifactIds.keySet() : selected, alsoMake, dependsOn,
                artifactIds);
        Set<String> shipped = closure(selected.isEmpty() ? artifactIds.keySet() : selected, alsoMake,
                needsAtRunTime, artifactIds);
        for (String module : built) {
            String missing = firstMissing(context, module + "/src/main", dir.resolve(module), module, ignore);
            if (missing != null) {
                problems.add("the build stage builds " + module + " (" + String.join(" ", mvnWords)
                        + ") but its context lacks " + missing + ": COPY " + module + " " + module);
            }
        }
        return new Reactor(problems, built, selected, artifactIds, shipped);
    }

    /** {@code start} and, with -am, every module it depends on through {@code dependsOn}, transitively. */
    private static Set<String> closure(Set<String> start, boolean alsoMake, Map<String, List<String>> dependsOn,
            Map<String, String> artifactIds) {
        Set<String> all = new LinkedHashSet<>(start);
        for (boolean grew = alsoMake; grew; ) {
            grew = false;
            for (String module : List.copyOf(all)) {
                for (String artifact : dependsOn.getOrDefault(module, List.of())) {
                    for (Map.Entry<String, String> e : artifactIds.entrySet()) {
                        if (e.getValue().equals(artifact)) {
                            grew |= all.add(e.getKey());
                        }
                    }
                }
            }
        }
        return all;
    }

    private static void modules(Path dir, String module, String groupId, List<String> problems,
            Map<String, String> artifactIds, Map<String, List<String>> dependsOn,
            Map<String, List<String>> needsAtRunTime) throws Exception {
        Element project = xml(dir.resolve(module).resolve("pom.xml"));
        if (!module.equals(".")) {
            artifactIds.put(module, text(child(project, "artifactId")));
            List<String> deps = new ArrayList<>();
            List<String> runtime = new ArrayList<>();
            for (Element dependency : children(child(project, "dependencies"), "dependency")) {
                String g = text(child(dependency, "groupId"));
                if (g.equals(groupId) || g.equals("${project.groupId}")) {
                    deps.add(text(child(dependency, "artifactId")));
                    Element scope = child(dependency, "scope");
                    if (scope == null || !List.of("test", "provided").contains(text(scope))) {
                        runtime.add(text(child(dependency, "artifactId")));
                    }
                }
            }
            dependsOn.put(module, deps);
            needsAtRunTime.put(module, runtime);
        }
        for (Element m : children(child(project, "modules"), "module")) {
            String child = DockerIgnore.clean(module + "/" + text(m));
            if (Files.isRegularFile(dir.resolve(child).resolve("pom.xml"))) {
                modules(dir, child, groupId, problems, artifactIds, dependsOn, needsAtRunTime);
            } else {
                problems.add(("the root pom lists the module %s but the build stage copies no %s/pom.xml: Maven "
                        + "reads every module before it builds any (\"Child module ... does not exist\"). Add "
                        + "`COPY %s/pom.xml %s/pom.xml` to the Dockerfile's build stage (`COPY %s %s` if the "
                        + "image's modules need its sources)").formatted(child, child, child, child, child, child));
            }
        }
    }

    /** The first file of the context under {@code relative} (not left out by .dockerignore) absent from target. */
    private static String firstMissing(Path context, String relative, Path target, String module,
            DockerIgnore ignore) throws IOException {
        Path source = context.resolve(relative);
        if (!Files.isDirectory(source)) {
            return null;
        }
        Path real = source.toRealPath();
        try (Stream<Path> s = Files.walk(real)) {
            return s.filter(Files::isRegularFile)
                    .map(f -> relative + "/" + real.relativize(f))
                    .filter(rel -> !ignore.excludes(rel))
                    .filter(rel -> !Files.exists(target.resolve(rel.substring(module.length() + 1))))
                    .sorted().findFirst().orElse(null);
        }
    }

    private static String groupId(Path pom) throws Exception {
        Element project = xml(pom);
        Element g = child(project, "groupId");
        return g != null ? text(g) : text(child(child(project, "parent"), "groupId"));
    }

    // ---------------------------------------------------------------- the runtime stage

    private record Account(String name, String uid, String home) {
    }

    private record Owned(String path, String user, boolean recursive) {
    }

    /** What the runtime stage sets up as root (RUN before USER), its environment, user and volumes. */
    private record RuntimeFacts(Map<String, String> env, String userName, Map<String, Account> accounts,
            List<String> made, List<Owned> owned, List<String> volumes, List<StageLayout.Copy> copies) {
    }

    private static RuntimeFacts runtimeFacts(String text) throws Exception {
        Dockerfile df = Dockerfile.parse(text);
        Map<String, Account> accounts = new LinkedHashMap<>();
        accounts.put("root", new Account("root", "0", "/root"));
        List<String> made = new ArrayList<>();
        List<Owned> owned = new ArrayList<>();
        StageLayout state = new StageLayout(null, ROOT, DockerIgnore.parse(""), Map.of());
        state.apply(df.image(), (run, cwd, commands) -> {
            if (!List.of("root", "0", "root:root", "0:0").contains(state.user)) {
                return; // as the non-root user nothing below could be made or owned
            }
            for (List<String> words : commands) {
                switch (words.get(0)) {
                    case "useradd" -> {
                        Map<String, String> options = options(words, Set.of("-u", "--uid", "-d", "--home-dir",
                                "-g", "--gid", "-s", "--shell", "-c", "--comment", "-G", "--groups", "-k", "--skel",
                                "-e", "--expiredate", "-f", "--inactive", "-p", "--password", "-b", "--base-dir"));
                        List<String> names = operands(words, options.keySet());
                        String name = names.getLast();
                        String home = options.getOrDefault("--home-dir", options.getOrDefault("-d",
                                "/home/" + name));
                        accounts.put(name, new Account(name, options.getOrDefault("--uid",
                                options.getOrDefault("-u", "?")), home));
                    }
                    case "mkdir" -> made.addAll(operands(words, Set.of("-m", "--mode")));
                    case "chown" -> {
                        boolean recursive = words.contains("-R") || words.contains("--recursive");
                        List<String> operands = operands(words, Set.of("--from", "--reference"));
                        String user = operands.get(0).split("[:.]")[0];
                        operands.subList(1, operands.size()).forEach(p -> owned.add(new Owned(p, user, recursive)));
                    }
                    default -> {
                    }
                }
            }
        });
        List<String> volumes = new ArrayList<>();
        df.image().all("VOLUME").forEach(v -> volumes.addAll(Dockerfile.jsonOrWords(v.args(), state.vars)));
        String userName = state.user.split(":")[0];
        for (Account a : List.copyOf(accounts.values())) {
            if (a.uid().equals(userName)) {
                userName = a.name();
            }
        }
        return new RuntimeFacts(state.env, userName, accounts, made, owned, volumes, state.copies);
    }

    /**
     * Where bin/relay's AppCDS archive for {@code serve} goes in the image, and what is wrong with it: the
     * launcher's default is {@code $HOME/.cache/relay} (lib/ is root's), and the relay user's home is the spool
     * volume; so the image must name a place ({@code RELAY_CDS_ARCHIVE}), in a directory its RUN makes and gives
     * to the runtime user, outside every volume and the jars, or turn it off (empty).
     */
    private static List<String> classArchiveProblems(String text) throws Exception {
        RuntimeFacts f = runtimeFacts(text);
        List<String> problems = new ArrayList<>();
        Account user = f.accounts().get(f.userName());
        if (user == null || user.name().equals("root") || user.uid().equals("0")) {
            problems.add("the image runs as " + f.userName() + ", not as a non-root user its RUN creates");
            return problems;
        }
        if (!f.env().containsKey("RELAY_CDS_ARCHIVE")) {
            problems.add("no ENV RELAY_CDS_ARCHIVE in the runtime stage: bin/relay then writes the class archive to "
                    + "$HOME/.cache/relay, and " + user.name() + "'s home is " + user.home());
            return problems;
        }
        String archive = f.env().get("RELAY_CDS_ARCHIVE");
        if (archive == null || archive.isEmpty()) {
            return problems; // off
        }
        if (!archive.startsWith("/")) {
            problems.add("RELAY_CDS_ARCHIVE=" + archive + " is not an absolute path");
            return problems;
        }
        String dir = parent(archive);
        List<String> forbidden = new ArrayList<>(f.volumes());
        forbidden.add(user.home());
        for (String place : forbidden) {
            if (within(dir, place)) {
                problems.add("the class archive " + archive + " is in " + place
                        + " (a volume or the user's home: the spool)");
            }
        }
        for (StageLayout.Copy copy : f.copies()) {
            String into = copy.intoDirectory() ? copy.destination() : parent(copy.destination());
            if (into.equals(dir)) {
                problems.add("the class archive's directory " + dir + " is where " + copy.instruction()
                        + " copies: the user who may write there could change the image's files");
            }
        }
        if (f.made().stream().noneMatch(m -> within(m, dir))) {
            problems.add("no RUN mkdir (before USER) makes " + dir + " for RELAY_CDS_ARCHIVE=" + archive);
        }
        if (f.owned().stream().noneMatch(o -> (o.path().equals(dir) || (o.recursive() && within(dir, o.path())))
                && (o.user().equals(user.name()) || o.user().equals(user.uid())))) {
            problems.add("no RUN chown (before USER) gives " + dir + " to " + user.name()
                    + ": the JVM could not write RELAY_CDS_ARCHIVE=" + archive);
        }
        return problems;
    }

    // ---------------------------------------------------------------- the launcher

    private static Set<String> jdkOnlyTools() throws IOException {
        Set<String> tools = new TreeSet<>(JDK_ONLY_TOOLS);
        Path bin = Path.of(System.getProperty("java.home"), "bin");
        try (Stream<Path> s = Files.list(bin)) {
            s.map(p -> p.getFileName().toString()).forEach(tools::add);
        }
        tools.removeAll(Set.of("java", "keytool", "rmiregistry"));
        return tools;
    }

    /**
     * The JDK-only tools a bash script calls: by name or by path, outside comments. Inside quotes only a path
     * ({@code "$JAVA_HOME/bin/jcmd"}) or a command substitution ({@code "$(jps)"}) counts, not a word of a message;
     * names inside words ({@code relay-server.jar}) never.
     */
    private static Set<String> jdkToolsCalled(String script, Set<String> tools) {
        StringBuilder code = new StringBuilder();
        List<Boolean> quoted = new ArrayList<>();
        for (String line : script.split("\n")) {
            char quote = 0;
            for (int i = 0; i < line.length(); i++) {
                char c = line.charAt(i);
                if (quote != 0) {
                    quote = c == quote ? 0 : quote;
                } else if (c == '\'' || c == '"') {
                    quote = c;
                } else if (c == '#' && (i == 0 || Character.isWhitespace(line.charAt(i - 1)))) {
                    break;
                }
                code.append(c);
                quoted.add(quote != 0);
            }
            code.append('\n');
            quoted.add(false);
        }
        Set<String> called = new TreeSet<>();
        String alternatives = String.join("|", tools.stream().map(Pattern::quote).toList());
        Matcher m = Pattern.compile("(?<=^|[\\s;&|(`\"'{/=])(" + alternatives + ")(?=$|[\\s;&|)`\"'}])",
                Pattern.MULTILINE).matcher(code);
        while (m.find()) {
            char before = m.start() == 0 ? '\n' : code.charAt(m.start() - 1);
            if (!quoted.get(m.start()) || before == '/' || before == '(' || before == '`') {
                called.add(m.group(1));
            }
        }
        return called;
    }

    /** A directory of links to every program of the system's bin directories except the given ones and java. */
    private static Path systemToolsWithout(Set<String> excluded, Path dir) throws IOException {
        for (String bin : List.of("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin")) {
            Path d = Path.of(bin);
            if (!Files.isDirectory(d)) {
                continue;
            }
            try (Stream<Path> s = Files.list(d)) {
                for (Path p : s.toList()) {
                    String name = p.getFileName().toString();
                    Path link = dir.resolve(name);
                    if (!excluded.contains(name) && !name.equals("java")
                            && !Files.exists(link, LinkOption.NOFOLLOW_LINKS)) {
                        Files.createSymbolicLink(link, p);
                    }
                }
            }
        }
        return dir;
    }

    private static String runLauncher(Path launcher, Path cwd, Map<String, String> env, Path log, String... args)
            throws Exception {
        List<String> command = new ArrayList<>(List.of(launcher.toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().clear();
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(LAUNCHER_BOUND.toMillis(), TimeUnit.MILLISECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            fail("%s did not finish within %s:%n%s", command, LAUNCHER_BOUND, RelayProcess.tail(log));
        }
        String output = Files.readString(log);
        assertThat(p.exitValue()).as("%s said:%n%s", command, output).isZero();
        return output;
    }

    // ---------------------------------------------------------------- helpers

    private static Path projectRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("Dockerfile")) && Files.isRegularFile(p.resolve("pom.xml"))) {
                return p;
            }
        }
        throw new IllegalStateException("no project root with a Dockerfile above " + Path.of("").toAbsolutePath());
    }

    /** The regular files under a directory, relative to it, {@code /}-separated. */
    private static List<String> files(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> !Files.isDirectory(p)).map(p -> dir.relativize(p).toString()).sorted().toList();
        }
    }

    private static String parent(String path) {
        int slash = path.lastIndexOf('/');
        return slash <= 0 ? "/" : path.substring(0, slash);
    }

    /** Whether {@code path} is {@code dir} or under it (both absolute and clean). */
    private static boolean within(String path, String dir) {
        return path.equals(dir) || path.startsWith(dir.endsWith("/") ? dir : dir + "/");
    }

    /** A command's options that take a value ({@code -u 1}, {@code --uid=1}), by the option's name. */
    private static Map<String, String> options(List<String> words, Set<String> withValue) {
        Map<String, String> out = new HashMap<>();
        for (int i = 1; i < words.size(); i++) {
            String w = words.get(i);
            int eq = w.indexOf('=');
            if (w.startsWith("--") && eq > 0 && withValue.contains(w.substring(0, eq))) {
                out.put(w.substring(0, eq), w.substring(eq + 1));
            } else if (withValue.contains(w) && i + 1 < words.size()) {
                out.put(w, words.get(++i));
            }
        }
        return out;
    }

    /** A command's operands: its words after the command that are not options (nor their values). */
    private static List<String> operands(List<String> words, Set<String> withValue) {
        List<String> out = new ArrayList<>();
        for (int i = 1; i < words.size(); i++) {
            String w = words.get(i);
            if (withValue.contains(w)) {
                i++;
            } else if (!w.startsWith("-")) {
                out.add(w);
            }
        }
        return out;
    }

    private static Element xml(Path file) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return factory.newDocumentBuilder().parse(file.toFile()).getDocumentElement();
    }

    private static Element child(Element parent, String name) {
        if (parent == null) {
            return null;
        }
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals(name)) {
                return e;
            }
        }
        return null;
    }

    private static List<Element> children(Element parent, String name) {
        List<Element> out = new ArrayList<>();
        if (parent != null) {
            for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (n instanceof Element e && e.getTagName().equals(name)) {
                    out.add(e);
                }
            }
        }
        return out;
    }

    private static String text(Element e) {
        return e == null ? "" : e.getTextContent().strip();
    }
}
