package dev.relay.config;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Maps {@code RELAY_*} variables onto the key tree by walking {@link Schema}: at each level the key whose upper
 * snake form matches a prefix of the rest of the name, or a list index. Longer keys are tried first and a
 * match that leads nowhere is backtracked, so {@code PASSWORD_FILE} finds {@code password-file}, not
 * {@code password}.
 */
final class EnvOverlay {
    static final String PREFIX = "RELAY_";
    /** Variables of the launcher and the logging, not configuration keys. */
    static final Set<String> NOT_CONFIG = Set.of("RELAY_JAVA", "RELAY_JAVA_OPTS", "RELAY_JAVA_SEARCH_DIRS",
            "RELAY_CDS_ARCHIVE", "RELAY_CDS_DIR", "RELAY_AOT_CACHE", "RELAY_LOG_FORMAT", "RELAY_LOG_LEVEL");

    private static final Pattern INDEX = Pattern.compile("([0-9]{1,4})(?:_(.*))?", Pattern.DOTALL);

    private EnvOverlay() {
    }

    /** A variable's key path: segments are key names (String) and list indexes (Integer). */
    record Target(String variable, List<Object> path, Schema.Shape shape) {
        String key() {
            return KeyPath.format(path);
        }
    }

    /** Why a variable maps to no key, at the deepest level its name got to. */
    private static final class Miss {
        List<Object> path = List.of();
        String message;

        void offer(List<Object> at, String why) {
            if (message == null || at.size() >= path.size()) {
                path = at;
                message = why;
            }
        }
    }

    /** The configuration variables of {@code env}, sorted by name (so a whole list comes before its items). */
    static Map<String, String> relevant(Map<String, String> env) {
        Map<String, String> out = new TreeMap<>();
        env.forEach((name, value) -> {
            if (name.startsWith(PREFIX) && !NOT_CONFIG.contains(name)) {
                out.put(name, value);
            }
        });
        return out;
    }

    /** The key the variable sets, or null after adding a problem naming the valid keys. */
    static Target resolve(String variable, String value, Problems problems) {
        Miss miss = new Miss();
        List<Object> path = walk(Schema.ROOT, variable.substring(PREFIX.length()), new ArrayList<>(), miss);
        if (path != null) {
            return new Target(variable, path, shapeAt(path));
        }
        // the value is never shown: a misspelt secret must not end up in a log
        problems.error(variable, Problems.MASK, "unknown configuration variable: " + miss.message);
        return null;
    }

    static boolean maps(String variable) {
        return walk(Schema.ROOT, variable.substring(PREFIX.length()), new ArrayList<>(), new Miss()) != null;
    }

    private static List<Object> walk(Schema.Shape shape, String rest, List<Object> path, Miss miss) {
        if (rest.isEmpty()) {
            if (shape instanceof Schema.Leaf
                    || shape instanceof Schema.Items items && items.item() instanceof Schema.Leaf) {
                return path;
            }
            miss.offer(path, describe(path) + " is a section, not a value: set one of its keys ("
                    + validKeys(shape, path) + ")");
            return null;
        }
        if (shape instanceof Schema.Obj obj) {
            List<String> keys = new ArrayList<>(obj.keys().keySet());
            keys.sort(Comparator.comparingInt(String::length).reversed());
            for (String key : keys) {
                String upper = Schema.envForm(key);
                String next = null;
                if (rest.equals(upper)) {
                    next = "";
                } else if (rest.startsWith(upper + "_")) {
                    next = rest.substring(upper.length() + 1);
                }
                if (next != null) {
                    List<Object> found = walk(obj.keys().get(key), next, append(path, key), miss);
                    if (found != null) {
                        return found;
                    }
                }
            }
            miss.offer(path, "no key matches '" + rest + "' " + (path.isEmpty() ? "at the top level" : "under "
                    + KeyPath.format(path)) + "; valid keys there: " + obj.keyList()
                    + " (as " + prefix(path) + "<KEY>, '-' written '_')");
            return null;
        }
        if (shape instanceof Schema.Items items) {
            Matcher m = INDEX.matcher(rest);
            if (m.matches()) {
                String next = m.group(2) == null ? "" : m.group(2);
                return walk(items.item(), next, append(path, Integer.parseInt(m.group(1))), miss);
            }
            miss.offer(path, KeyPath.format(path) + " is a list: continue with an item index, e.g. "
                    + prefix(path) + "0" + (items.item() instanceof Schema.Obj ? "_<KEY>" : ""));
            return null;
        }
        return null; // a single value has no sub-keys: the level above names the valid keys
    }

    private static String describe(List<Object> path) {
        return path.isEmpty() ? "RELAY_" : KeyPath.format(path);
    }

    private static String validKeys(Schema.Shape shape, List<Object> path) {
        if (shape instanceof Schema.Obj obj) {
            return obj.keyList();
        }
        return "an item index: " + prefix(path) + "0_...";
    }

    private static String prefix(List<Object> path) {
        StringBuilder sb = new StringBuilder(PREFIX);
        for (Object segment : path) {
            sb.append(segment instanceof String key ? Schema.envForm(key) : segment).append('_');
        }
        return sb.toString();
    }

    private static List<Object> append(List<Object> path, Object segment) {
        List<Object> out = new ArrayList<>(path);
        out.add(segment);
        return out;
    }

    static Schema.Shape shapeAt(List<Object> path) {
        Schema.Shape shape = Schema.ROOT;
        for (Object segment : path) {
            shape = segment instanceof String key ? ((Schema.Obj) shape).keys().get(key)
                    : ((Schema.Items) shape).item();
        }
        return shape;
    }

    /** Sets every configuration variable of {@code env} into {@code root}; problems for unknown variables. */
    static void apply(Map<String, String> env, Node.MapNode root, Problems problems) {
        relevant(env).forEach((variable, value) -> {
            Target target = resolve(variable, value, problems);
            if (target != null) {
                set(root, target, value);
            }
        });
    }

    private static void set(Node.MapNode root, Target target, String value) {
        String origin = "environment variable " + target.variable();
        Node node;
        if (value.isEmpty()) {
            node = null; // an empty variable removes the key
        } else if (target.shape() instanceof Schema.Items) {
            Node.ListNode list = new Node.ListNode(origin);
            for (String part : value.split(",")) {
                if (!part.isBlank()) {
                    list.items().add(new Node.Scalar(part.trim(), origin));
                }
            }
            node = list;
        } else {
            node = new Node.Scalar(value, origin);
        }
        List<Object> path = target.path();
        Node parent = root;
        for (int i = 0; i < path.size() - 1; i++) {
            parent = child(parent, path.get(i), path.get(i + 1) instanceof Integer, origin);
        }
        Object last = path.get(path.size() - 1);
        if (parent instanceof Node.MapNode map) {
            if (node == null) {
                map.entries().remove((String) last);
            } else {
                map.entries().put((String) last, node);
            }
        } else if (parent instanceof Node.ListNode list) {
            int index = (Integer) last;
            while (list.items().size() <= index) {
                list.items().add(null);
            }
            list.items().set(index, node);
        }
    }

    /** The container under {@code segment}, created (or replacing a value of the wrong kind) when needed. */
    private static Node child(Node parent, Object segment, boolean wantList, String origin) {
        Node existing;
        if (parent instanceof Node.MapNode map) {
            existing = map.entries().get((String) segment);
        } else {
            List<Node> items = ((Node.ListNode) parent).items();
            int index = (Integer) segment;
            existing = index < items.size() ? items.get(index) : null;
        }
        if (wantList ? existing instanceof Node.ListNode : existing instanceof Node.MapNode) {
            return existing;
        }
        Node created = wantList ? new Node.ListNode(origin) : new Node.MapNode(origin);
        if (parent instanceof Node.MapNode map) {
            map.entries().put((String) segment, created);
        } else {
            List<Node> items = ((Node.ListNode) parent).items();
            int index = (Integer) segment;
            while (items.size() <= index) {
                items.add(null);
            }
            items.set(index, created);
        }
        return created;
    }
}
