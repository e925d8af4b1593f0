package dev.relay.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The measures of docs/ARCHITECTURE.md ("Measures") over the production code of every module (each module's
 * {@code src/main/java}: a module added later is measured too), read as source so that every reference counts, a
 * class literal in an annotation ({@code @Command(subcommands = ...)}) as much as an import: no package cycle, no
 * production file over {@value #MAX_LINES} lines, a {@code package-info.java} in every package.
 */
class ArchitectureTest {
    static final int MAX_LINES = 400;

    /**
     * Files allowed over {@link #MAX_LINES} for now, each with the reason. Issue #18 steps 1 to 3 split the three of
     * relay-core on other branches. Once
     * a file is cut, this test fails until its entry is removed (an exception that is no longer needed is reported,
     * so the list cannot go stale).
     */
    static final Map<String, String> TEMPORARY_EXCEPTIONS = Map.of();

    private static final Pattern PACKAGE = Pattern.compile("^\\s*package\\s+([\\w.]+)\\s*;", Pattern.MULTILINE);
    /** A qualified reference to a relay type: its package is what the regex captures. */
    private static final Pattern REFERENCE = Pattern.compile("\\b(dev\\.relay(?:\\.[a-z_][a-z0-9_]*)*)\\.[A-Z]");

    @Test
    void noPackageCycleAcrossTheProductionCodeOfAllModules() throws IOException {
        Map<String, Map<String, Path>> edges = new TreeMap<>(); // package -> package it uses -> one file that does
        for (Path file : productionFiles()) {
            String code = withoutCommentsAndStrings(Files.readString(file));
            Matcher p = PACKAGE.matcher(code);
            if (!p.find()) {
                continue;
            }
            String from = p.group(1);
            Matcher r = REFERENCE.matcher(code);
            while (r.find()) {
                if (!r.group(1).equals(from)) {
                    edges.computeIfAbsent(from, k -> new TreeMap<>()).putIfAbsent(r.group(1), file);
                }
            }
        }
        assertThat(edges).as("dependencies found at all (is the source tree where it is expected?)").isNotEmpty();
        List<String> cycles = new ArrayList<>();
        for (Set<String> component : stronglyConnected(edges)) {
            StringBuilder why = new StringBuilder(String.join(" <-> ", component)).append(":");
            for (String from : component) {
                edges.getOrDefault(from, Map.of()).forEach((to, file) -> {
                    if (component.contains(to)) {
                        why.append("\n    ").append(from).append(" -> ").append(to).append(" (e.g. ")
                                .append(root().relativize(file)).append(")");
                    }
                });
            }
            cycles.add(why.toString());
        }
        assertThat(cycles).as("package cycles").isEmpty();
    }

    @Test
    void noProductionFileOverTheLineLimit() throws IOException {
        Map<String, Long> over = new TreeMap<>();
        for (Path file : productionFiles()) {
            long lines;
            try (Stream<String> s = Files.lines(file)) {
                lines = s.count();
            }
            if (lines > MAX_LINES) {
                over.put(root().relativize(file).toString(), lines);
            }
        }
        Map<String, Long> unexpected = new TreeMap<>(over);
        TEMPORARY_EXCEPTIONS.keySet().forEach(unexpected::remove);
        assertThat(unexpected).as("production files over %d lines: cut them by job", MAX_LINES).isEmpty();
        Set<String> stale = new TreeSet<>(TEMPORARY_EXCEPTIONS.keySet());
        stale.removeAll(over.keySet());
        assertThat(stale).as("TEMPORARY_EXCEPTIONS no longer needed: remove them from ArchitectureTest").isEmpty();
    }

    @Test
    void everyPackageSaysItsJobInAPackageInfo() throws IOException {
        List<String> missing = new ArrayList<>();
        for (String module : modules()) {
            Path sources = root().resolve(module).resolve("src/main/java");
            try (Stream<Path> dirs = Files.walk(sources)) {
                for (Path dir : dirs.filter(Files::isDirectory).toList()) {
                    boolean hasJava;
                    try (Stream<Path> files = Files.list(dir)) {
                        hasJava = files.anyMatch(f -> f.toString().endsWith(".java"));
                    }
                    if (hasJava && !Files.isRegularFile(dir.resolve("package-info.java"))) {
                        missing.add(module + ": " + sources.relativize(dir).toString().replace('/', '.'));
                    }
                }
            }
        }
        assertThat(missing).as("packages without a package-info.java naming their job").isEmpty();
    }

    static Path root() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("relay-core")) && Files.isRegularFile(p.resolve("pom.xml"))) {
                return p;
            }
        }
        throw new IllegalStateException("no project root with relay-core/ above " + Path.of("").toAbsolutePath());
    }

    static List<Path> productionFiles() throws IOException {
        List<Path> files = new ArrayList<>();
        for (String module : modules()) {
            Path sources = root().resolve(module).resolve("src/main/java");
            if (!Files.isDirectory(sources)) {
                continue;
            }
            try (Stream<Path> s = Files.walk(sources)) {
                s.filter(f -> f.toString().endsWith(".java")).sorted().forEach(files::add);
            }
        }
        return files;
    }

    /** {@code code} with comments, string, text-block and character literals blanked out (line breaks kept). */
    static String withoutCommentsAndStrings(String code) {
        StringBuilder out = new StringBuilder(code.length());
        int i = 0;
        int n = code.length();
        while (i < n) {
            char c = code.charAt(i);
            if (c == '/' && i + 1 < n && code.charAt(i + 1) == '/') {
                while (i < n && code.charAt(i) != '\n') {
                    i++;
                }
            } else if (c == '/' && i + 1 < n && code.charAt(i + 1) == '*') {
                int end = code.indexOf("*/", i + 2);
                end = end < 0 ? n : end + 2;
                code.substring(i, end).chars().filter(ch -> ch == '\n').forEach(ch -> out.append('\n'));
                i = end;
            } else if (code.startsWith("\"\"\"", i)) {
                int end = code.indexOf("\"\"\"", i + 3);
                end = end < 0 ? n : end + 3;
                code.substring(i, end).chars().filter(ch -> ch == '\n').forEach(ch -> out.append('\n'));
                out.append("\"\"");
                i = end;
            } else if (c == '"' || c == '\'') {
                int j = i + 1;
                while (j < n && code.charAt(j) != c && code.charAt(j) != '\n') {
                    j += code.charAt(j) == '\\' ? 2 : 1;
                }
                out.append(c).append(c);
                i = Math.min(n, j + 1);
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }

    /** The strongly connected components of more than one package (Tarjan's algorithm, iterative). */
    static List<Set<String>> stronglyConnected(Map<String, ? extends Map<String, ?>> edges) {
        Map<String, Integer> index = new HashMap<>();
        Map<String, Integer> low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new java.util.HashSet<>();
        List<Set<String>> components = new ArrayList<>();
        Set<String> nodes = new TreeSet<>(edges.keySet());
        edges.values().forEach(m -> nodes.addAll(m.keySet()));
        int[] counter = {0};
        for (String start : nodes) {
            if (index.containsKey(start)) {
                continue;
            }
            Deque<Map.Entry<String, java.util.Iterator<String>>> work = new ArrayDeque<>();
            visit(start, index, low, stack, onStack, counter, edges, work);
            while (!work.isEmpty()) {
                Map.Entry<String, java.util.Iterator<String>> top = work.peek();
                String v = top.getKey();
                if (top.getValue().hasNext()) {
                    String w = top.getValue().next();
                    if (!index.containsKey(w)) {
                        visit(w, index, low, stack, onStack, counter, edges, work);
                    } else if (onStack.contains(w)) {
                        low.put(v, Math.min(low.get(v), index.get(w)));
                    }
                    continue;
                }
                work.pop();
                if (!work.isEmpty()) {
                    String parent = work.peek().getKey();
                    low.put(parent, Math.min(low.get(parent), low.get(v)));
                }
                if (low.get(v).equals(index.get(v))) {
                    Set<String> component = new TreeSet<>();
                    String w;
                    do {
                        w = stack.pop();
                        onStack.remove(w);
                        component.add(w);
                    } while (!w.equals(v));
                    if (component.size() > 1) {
                        components.add(component);
                    }
                }
            }
        }
        return components;
    }

    private static void visit(String v, Map<String, Integer> index, Map<String, Integer> low, Deque<String> stack,
                              Set<String> onStack, int[] counter, Map<String, ? extends Map<String, ?>> edges,
                              Deque<Map.Entry<String, java.util.Iterator<String>>> work) {
        index.put(v, counter[0]);
        low.put(v, counter[0]);
        counter[0]++;
        stack.push(v);
        onStack.add(v);
        Map<String, ?> out = edges.get(v);
        work.push(Map.entry(v, out == null ? java.util.Collections.emptyIterator() : out.keySet().iterator()));
    }

    @Test
    void theCycleCheckFindsACycleThroughAnAnnotationsClassLiteral() {
        String main = withoutCommentsAndStrings("""
                package dev.relay.server;
                // dev.relay.server.ignored.InAComment
                @Command(subcommands = {dev.relay.server.doctor.DoctorCommand.class})
                class Main { String s = "dev.relay.server.ignored.InAString"; }
                """);
        Matcher r = REFERENCE.matcher(main);
        List<String> found = new ArrayList<>();
        while (r.find()) {
            found.add(r.group(1));
        }
        assertThat(found).containsExactly("dev.relay.server.doctor");
        Map<String, Map<String, Path>> edges = Map.of(
                "dev.relay.server", Map.of("dev.relay.server.doctor", Path.of("Main.java")),
                "dev.relay.server.doctor", Map.of("dev.relay.server", Path.of("DoctorCommand.java")),
                "dev.relay.server.setup", Map.of("dev.relay.config", Path.of("Preflight.java")));
        assertThat(stronglyConnected(edges)).containsExactly(Set.of("dev.relay.server", "dev.relay.server.doctor"));
    }

    /** The modules with production code: every directory beside the root pom with a {@code src/main/java}. */
    static List<String> modules() throws IOException {
        try (Stream<Path> dirs = Files.list(root())) {
            return dirs.filter(d -> Files.isDirectory(d.resolve("src/main/java")))
                    .map(d -> d.getFileName().toString()).sorted().toList();
        }
    }
}
