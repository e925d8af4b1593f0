package dev.relay.config;

import java.util.Map;

/**
 * Checks the raw tree against {@link Schema}: unknown keys and values of the wrong kind (a list where a single
 * value belongs, ...). Nodes of the wrong kind are removed so that binding sees them as absent.
 */
final class TreeChecker {
    private TreeChecker() {
    }

    static void check(Node.MapNode root, Problems problems) {
        checkObj(root, Schema.ROOT, "", problems);
    }

    private static void checkObj(Node.MapNode map, Schema.Obj shape, String at, Problems problems) {
        var it = map.entries().entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, Node> entry = it.next();
            String key = KeyPath.child(at, entry.getKey());
            Schema.Shape child = shape.keys().get(entry.getKey());
            if (child == null) {
                problems.error(key, null, "unknown key (" + entry.getValue().origin() + "); valid keys "
                        + (at.isEmpty() ? "at the top level" : "under " + at) + ": " + shape.keyList());
                it.remove();
            } else if (!checkNode(entry.getValue(), child, key, problems)) {
                it.remove();
            }
        }
    }

    /** False if the node has the wrong kind (a problem is added). */
    private static boolean checkNode(Node node, Schema.Shape shape, String at, Problems problems) {
        if (node == null) {
            return true; // a missing list item: reported when binding
        }
        switch (shape) {
            case Schema.Leaf leaf -> {
                if (!(node instanceof Node.Scalar)) {
                    problems.error(at, null, "expected a single value, not a " + kind(node) + " ("
                            + node.origin() + ")");
                    return false;
                }
            }
            case Schema.Obj obj -> {
                if (node instanceof Node.MapNode map) {
                    checkObj(map, obj, at, problems);
                } else {
                    problems.error(at, null, "expected keys (" + obj.keyList() + "), not a " + kind(node)
                            + " (" + node.origin() + ")");
                    return false;
                }
            }
            case Schema.Items items -> {
                if (node instanceof Node.ListNode list) {
                    for (int i = 0; i < list.items().size(); i++) {
                        if (!checkNode(list.items().get(i), items.item(), KeyPath.item(at, i), problems)) {
                            list.items().set(i, null);
                        }
                    }
                } else if (!(node instanceof Node.Scalar && items.item() instanceof Schema.Leaf)) {
                    problems.error(at, null, "expected a list, not a " + kind(node) + " (" + node.origin() + ")");
                    return false;
                }
            }
        }
        return true;
    }

    private static String kind(Node node) {
        return switch (node) {
            case Node.Scalar s -> "single value";
            case Node.MapNode m -> "set of keys";
            case Node.ListNode l -> "list";
        };
    }
}
