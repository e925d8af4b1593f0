package dev.relay.it;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Dockerfile read as BuildKit reads it, as far as the tests need: instructions (continuation lines joined,
 * comment lines dropped), their {@code --flags}, stages ({@code FROM ... AS name}), and shell words of {@code RUN}
 * and {@code ENV} (quotes removed, {@code $VAR}/{@code ${VAR}} expanded from the stage's ARG and ENV). What it
 * does not understand (another escape character, heredocs) it refuses, so a test never passes on a misreading.
 */
final class Dockerfile {
    /** One instruction: its keyword (upper case), leading {@code --flags} and the text after them. */
    record Instruction(int firstLine, int lastLine, String keyword, Map<String, String> flags, String args) {
        String flag(String name) {
            return flags.get(name);
        }

        @Override
        public String toString() {
            return "line " + firstLine + ": " + keyword + " " + args;
        }
    }

    /** A stage: the image it starts from, its name (or null) and its instructions after FROM. */
    record Stage(String base, String name, Instruction from, List<Instruction> instructions) {
        List<Instruction> all(String keyword) {
            return instructions.stream().filter(i -> i.keyword().equals(keyword)).toList();
        }
    }

    private static final Pattern FROM = Pattern.compile("(\\S+)(?:\\s+(?i:as)\\s+(\\S+))?\\s*");
    private static final Pattern CONTINUATION = Pattern.compile("\\\\[ \\t]*$");
    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    final List<Instruction> instructions;
    final List<Stage> stages;

    private Dockerfile(List<Instruction> instructions, List<Stage> stages) {
        this.instructions = instructions;
        this.stages = stages;
    }

    static Dockerfile parse(String text) {
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length && lines[i].startsWith("#"); i++) {
            if (lines[i].toLowerCase(Locale.ROOT).matches("#\\s*escape\\s*=.*")
                    && !lines[i].replaceAll("\\s", "").endsWith("=\\")) {
                throw new IllegalArgumentException("only the escape character \\ is understood: " + lines[i]);
            }
        }
        List<Instruction> instructions = new ArrayList<>();
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.isBlank() || line.stripLeading().startsWith("#")) {
                continue;
            }
            int first = i;
            StringBuilder logical = new StringBuilder();
            while (true) {
                Matcher m = CONTINUATION.matcher(line);
                if (!m.find()) {
                    logical.append(line);
                    break;
                }
                logical.append(line, 0, m.start());
                // inside a continuation, comment and empty lines are dropped
                do {
                    i++;
                } while (i < lines.length && (lines[i].isBlank() || lines[i].stripLeading().startsWith("#")));
                if (i == lines.length) {
                    break;
                }
                line = lines[i];
            }
            instructions.add(instruction(first + 1, i + 1, logical.toString().strip()));
        }

        List<Stage> stages = new ArrayList<>();
        Instruction from = null;
        List<Instruction> body = new ArrayList<>();
        for (Instruction instruction : instructions) {
            if (instruction.keyword().equals("FROM")) {
                if (from != null) {
                    stages.add(stage(from, body));
                }
                from = instruction;
                body = new ArrayList<>();
            } else if (from != null) {
                body.add(instruction);
            } else if (!instruction.keyword().equals("ARG")) {
                throw new IllegalArgumentException("before the first FROM: " + instruction);
            }
        }
        if (from == null) {
            throw new IllegalArgumentException("no FROM");
        }
        stages.add(stage(from, body));
        return new Dockerfile(List.copyOf(instructions), List.copyOf(stages));
    }

    /** The stage named {@code name}. */
    Stage stage(String name) {
        return stages.stream().filter(s -> name.equals(s.name())).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no stage named " + name));
    }

    /** The last stage: the image. */
    Stage image() {
        return stages.get(stages.size() - 1);
    }

    /** The Dockerfile's text without the lines of one instruction (as someone deleting it would leave it). */
    static String without(String text, Instruction instruction) {
        String[] lines = text.split("\n", -1);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < lines.length; i++) {
            if (i + 1 < instruction.firstLine() || i + 1 > instruction.lastLine()) {
                out.append(lines[i]).append('\n');
            }
        }
        return out.toString();
    }

    private static Stage stage(Instruction from, List<Instruction> body) {
        Matcher m = FROM.matcher(from.args());
        if (!m.matches()) {
            throw new IllegalArgumentException("cannot read " + from);
        }
        return new Stage(m.group(1), m.group(2), from, List.copyOf(body));
    }

    private static Instruction instruction(int first, int last, String text) {
        String[] split = text.split("\\s+", 2);
        String keyword = split[0].toUpperCase(Locale.ROOT);
        String rest = split.length > 1 ? split[1] : "";
        Map<String, String> flags = new LinkedHashMap<>();
        if (List.of("FROM", "RUN", "COPY", "ADD").contains(keyword)) {
            while (rest.startsWith("--")) {
                String[] f = rest.split("\\s+", 2);
                int eq = f[0].indexOf('=');
                flags.put(eq < 0 ? f[0].substring(2) : f[0].substring(2, eq), eq < 0 ? "" : f[0].substring(eq + 1));
                rest = f.length > 1 ? f[1] : "";
            }
        }
        if (rest.contains("<<") && List.of("RUN", "COPY", "ADD").contains(keyword)) {
            throw new IllegalArgumentException("heredocs are not understood: line " + first);
        }
        return new Instruction(first, last, keyword, Map.copyOf(flags), rest.strip());
    }

    // ---------------------------------------------------------------- shell words

    /**
     * The simple commands of a shell command line (split at unquoted {@code &&}, {@code ||}, {@code ;}, {@code |}
     * and newlines), each as its words: quotes removed, {@code $NAME} and {@code ${NAME}} replaced from
     * {@code vars} (names not there are left as written).
     */
    static List<List<String>> commands(String text, Map<String, String> vars) {
        List<List<String>> commands = new ArrayList<>();
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\'') {
                int end = text.indexOf('\'', i + 1);
                if (end < 0) {
                    throw new IllegalArgumentException("unbalanced ' in " + text);
                }
                word.append(text, i + 1, end);
                i = end;
                inWord = true;
            } else if (c == '"') {
                inWord = true;
                for (i++; ; i++) {
                    if (i >= text.length()) {
                        throw new IllegalArgumentException("unbalanced \" in " + text);
                    }
                    char d = text.charAt(i);
                    if (d == '"') {
                        break;
                    } else if (d == '\\' && i + 1 < text.length() && "\"\\$`".indexOf(text.charAt(i + 1)) >= 0) {
                        word.append(text.charAt(++i));
                    } else if (d == '$') {
                        i = expand(text, i, vars, word);
                    } else {
                        word.append(d);
                    }
                }
            } else if (c == '\\' && i + 1 < text.length()) {
                char next = text.charAt(++i);
                if (next != '\n') {
                    word.append(next);
                    inWord = true;
                }
            } else if (c == '$') {
                i = expand(text, i, vars, word);
                inWord = true;
            } else if (Character.isWhitespace(c) || c == ';' || c == '&' || c == '|') {
                if (inWord) {
                    words.add(word.toString());
                    word.setLength(0);
                    inWord = false;
                }
                if (c != ' ' && c != '\t' && !words.isEmpty()) {
                    commands.add(List.copyOf(words));
                    words.clear();
                }
            } else {
                word.append(c);
                inWord = true;
            }
        }
        if (inWord) {
            words.add(word.toString());
        }
        if (!words.isEmpty()) {
            commands.add(List.copyOf(words));
        }
        return commands;
    }

    /** The words of an argument text (one command; quotes removed, variables expanded). */
    static List<String> words(String text, Map<String, String> vars) {
        List<List<String>> commands = commands(text, vars);
        if (commands.size() > 1) {
            throw new IllegalArgumentException("one command expected: " + text);
        }
        return commands.isEmpty() ? List.of() : commands.get(0);
    }

    /** {@code ENV} or {@code ARG} arguments: {@code K=V ...} (or the old {@code ENV K V}), in order. */
    static Map<String, String> assignments(String args, Map<String, String> vars) {
        Map<String, String> out = new LinkedHashMap<>();
        List<String> words = words(args, vars);
        if (!words.isEmpty() && !words.get(0).contains("=") && words.size() > 1) {
            out.put(words.get(0), String.join(" ", words.subList(1, words.size())));
            return out;
        }
        for (String w : words) {
            int eq = w.indexOf('=');
            if (eq < 0) {
                out.put(w, null); // ARG without a default
            } else {
                out.put(w.substring(0, eq), w.substring(eq + 1));
            }
        }
        return out;
    }

    /** The words of a JSON array ({@code ["a", "b"]}) or of a plain argument text. */
    static List<String> jsonOrWords(String args, Map<String, String> vars) {
        String t = args.strip();
        if (t.startsWith("[") && t.endsWith("]")) {
            List<String> out = new ArrayList<>();
            Matcher m = Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(t);
            while (m.find()) {
                out.add(m.group(1).replaceAll("\\\\(.)", "$1"));
            }
            return out;
        }
        return words(t, vars);
    }

    private static int expand(String text, int dollar, Map<String, String> vars, StringBuilder word) {
        int i = dollar + 1;
        String name;
        int end;
        if (i < text.length() && text.charAt(i) == '{') {
            int close = text.indexOf('}', i);
            name = close < 0 ? "" : text.substring(i + 1, close);
            end = close;
        } else {
            Matcher m = NAME.matcher(text).region(i, text.length());
            name = m.lookingAt() ? m.group() : "";
            end = i + name.length() - 1;
        }
        if (!NAME.matcher(name).matches() || !vars.containsKey(name) || vars.get(name) == null) {
            word.append('$');
            return dollar;
        }
        word.append(vars.get(name));
        return end;
    }
}
