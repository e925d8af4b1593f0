package dev.relay.it;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The rules of {@code promtool check metrics} that matter for an exporter, checked in Java so they hold where
 * promtool is not installed: valid names, a HELP and a TYPE line per family (once, before its samples), counters
 * ending in {@code _total}, base units spelled out (seconds, bytes; no ms, ns, days), {@code _count}/{@code _sum}/
 * {@code _bucket} only on histograms and summaries, and no series twice.
 */
final class PrometheusTextLint {
    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})? (\\S+)( \\d+)?");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");
    private static final Set<String> NON_BASE_UNITS = Set.of("ns", "us", "ms", "nanoseconds", "microseconds",
            "milliseconds", "minutes", "hours", "days", "weeks", "kb", "mb", "gb", "kilobytes", "megabytes",
            "gigabytes", "bits", "percent");
    private static final Set<String> TYPES = Set.of("counter", "gauge", "histogram", "summary", "untyped");

    private PrometheusTextLint() {
    }

    /** The problems found, one line each; empty when the text follows the rules. */
    static List<String> problems(String text) {
        List<String> problems = new ArrayList<>();
        Map<String, String> types = new HashMap<>();
        Set<String> helps = new HashSet<>();
        Set<String> series = new HashSet<>();
        Set<String> sampled = new HashSet<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
                String[] parts = line.split(" ", 4);
                String family = parts.length > 2 ? parts[2] : "";
                String rest = parts.length > 3 ? parts[3].trim() : "";
                if (!NAME.matcher(family).matches()) {
                    problems.add("invalid metric name '" + family + "'");
                }
                if (sampled.contains(family)) {
                    problems.add(family + ": " + parts[1] + " after its samples");
                }
                if (parts[1].equals("HELP")) {
                    if (!helps.add(family)) {
                        problems.add(family + ": HELP twice");
                    }
                    if (rest.isEmpty()) {
                        problems.add(family + ": empty HELP text");
                    }
                } else {
                    if (types.put(family, rest) != null) {
                        problems.add(family + ": TYPE twice");
                    }
                    if (!TYPES.contains(rest)) {
                        problems.add(family + ": unknown type '" + rest + "'");
                    }
                    problems.addAll(nameProblems(family, rest));
                }
                continue;
            }
            if (line.startsWith("#")) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            if (!m.matches()) {
                problems.add("unparsable line: " + line);
                continue;
            }
            String name = m.group(1);
            String family = family(name, types);
            if (family == null) {
                problems.add(name + ": sample without a TYPE line");
                continue;
            }
            if (!helps.contains(family)) {
                problems.add(family + ": no HELP line");
            }
            sampled.add(family);
            Map<String, String> labels = new TreeMap<>();
            if (m.group(3) != null && !m.group(3).isEmpty()) {
                Matcher l = LABEL.matcher(m.group(3));
                int end = 0;
                while (l.find() && l.start() == end) {
                    if (labels.put(l.group(1), l.group(2)) != null) {
                        problems.add(name + ": label " + l.group(1) + " twice");
                    }
                    end = l.end();
                }
                if (end != m.group(3).length()) {
                    problems.add(name + ": malformed labels {" + m.group(3) + "}");
                }
            }
            if (!series.add(name + labels)) {
                problems.add("duplicate series " + name + labels);
            }
            try {
                Double.parseDouble(m.group(4).replace("+Inf", "Infinity").replace("-Inf", "-Infinity"));
            } catch (NumberFormatException e) {
                problems.add(name + ": value '" + m.group(4) + "' is not a number");
            }
        }
        return problems;
    }

    private static List<String> nameProblems(String family, String type) {
        List<String> problems = new ArrayList<>();
        if (type.equals("counter") && !family.endsWith("_total")) {
            problems.add(family + ": counter name should end in _total");
        }
        if (!type.equals("counter") && family.endsWith("_total")) {
            problems.add(family + ": only counters should end in _total");
        }
        if (!type.equals("histogram") && !type.equals("summary")
                && (family.endsWith("_count") || family.endsWith("_sum") || family.endsWith("_bucket"))) {
            problems.add(family + ": _count, _sum and _bucket are reserved for histograms and summaries");
        }
        for (String token : family.split("_")) {
            if (NON_BASE_UNITS.contains(token.toLowerCase())) {
                problems.add(family + ": unit '" + token + "' is not a base unit (use seconds or bytes)");
            }
        }
        return problems;
    }

    /** The family a sample belongs to: its own name, or a histogram's or summary's without the suffix. */
    private static String family(String sample, Map<String, String> types) {
        if (types.containsKey(sample)) {
            return sample;
        }
        for (String suffix : List.of("_bucket", "_count", "_sum", "_created")) {
            if (sample.endsWith(suffix)) {
                String base = sample.substring(0, sample.length() - suffix.length());
                String type = types.get(base);
                if ("histogram".equals(type) || "summary".equals(type)
                        || (suffix.equals("_created") && type != null)) {
                    return base;
                }
            }
        }
        return null;
    }
}
