package dev.relay.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A {@code .dockerignore} as Docker (BuildKit, moby's patternmatcher) reads it: one pattern a line, {@code #}
 * comments, {@code !} exceptions, patterns cleaned like Go's {@code filepath.Clean} (so {@code **}{@code /target/}
 * is {@code **}{@code /target}), relative to the context root. {@code *} and {@code ?} stay within a path segment,
 * {@code **} spans any number of them. A path is excluded when the last pattern that matches it, or one of its
 * parent directories, is not an exception.
 */
final class DockerIgnore {
    private record Rule(String pattern, Pattern regex, boolean exception) {
    }

    private final List<Rule> rules;

    private DockerIgnore(List<Rule> rules) {
        this.rules = rules;
    }

    /** The context's {@code .dockerignore}, or one that excludes nothing. */
    static DockerIgnore of(Path context) throws IOException {
        Path file = context.resolve(".dockerignore");
        return parse(Files.isRegularFile(file) ? Files.readString(file) : "");
    }

    static DockerIgnore parse(String text) {
        List<Rule> rules = new ArrayList<>();
        for (String line : text.split("\r?\n")) {
            if (line.startsWith("#")) {
                continue;
            }
            String pattern = line.trim();
            boolean exception = pattern.startsWith("!");
            if (exception) {
                pattern = pattern.substring(1).trim();
            }
            if (pattern.isEmpty()) {
                continue;
            }
            pattern = clean(pattern);
            rules.add(new Rule(pattern, compile(pattern), exception));
        }
        return new DockerIgnore(List.copyOf(rules));
    }

    /** Whether a path of the context ({@code /}-separated, relative to its root) is left out of it. */
    boolean excludes(String path) {
        String file = clean(path);
        List<String> parents = new ArrayList<>();
        for (int i = file.indexOf('/'); i >= 0; i = file.indexOf('/', i + 1)) {
            parents.add(file.substring(0, i));
        }
        boolean matched = false;
        for (Rule rule : rules) {
            if (rule.exception() != matched) {
                continue; // an exception only matters once something matched, a pattern only until then
            }
            boolean match = rule.regex().matcher(file).matches()
                    || parents.stream().anyMatch(p -> rule.regex().matcher(p).matches());
            if (match) {
                matched = !rule.exception();
            }
        }
        return matched;
    }

    /** Whether an excluded directory may still hold a path an exception brings back (then it must be walked). */
    boolean hasExceptions() {
        return rules.stream().anyMatch(Rule::exception);
    }

    /** Go's filepath.Clean for relative, {@code /}-separated paths, and a leading {@code /} dropped. */
    static String clean(String path) {
        Deque<String> out = new ArrayDeque<>();
        for (String segment : path.split("/")) {
            if (segment.isEmpty() || segment.equals(".")) {
                continue;
            }
            if (segment.equals("..") && !out.isEmpty() && !out.peekLast().equals("..")) {
                out.removeLast();
            } else {
                out.addLast(segment);
            }
        }
        return out.isEmpty() ? "." : String.join("/", out);
    }

    /** moby's patternmatcher: {@code **}{@code /} may match no segment, {@code **} at the end everything. */
    private static Pattern compile(String pattern) {
        StringBuilder regex = new StringBuilder("^");
        boolean inClass = false;
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (inClass) {
                regex.append(c == '\\' && i + 1 < pattern.length() ? "\\" + pattern.charAt(++i) : String.valueOf(c));
                inClass = c != ']';
            } else if (c == '*') {
                if (i + 1 < pattern.length() && pattern.charAt(i + 1) == '*') {
                    i++;
                    if (i + 1 < pattern.length() && pattern.charAt(i + 1) == '/') {
                        i++;
                    }
                    regex.append(i + 1 == pattern.length() ? ".*" : "(.*/)?");
                } else {
                    regex.append("[^/]*");
                }
            } else if (c == '?') {
                regex.append("[^/]");
            } else if (c == '[') {
                regex.append('[');
                inClass = true;
            } else if (c == '\\' && i + 1 < pattern.length()) {
                regex.append(Pattern.quote(String.valueOf(pattern.charAt(++i))));
            } else {
                regex.append(Character.isLetterOrDigit(c) || c == '/' ? String.valueOf(c)
                        : Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(regex.append('$').toString());
    }
}
