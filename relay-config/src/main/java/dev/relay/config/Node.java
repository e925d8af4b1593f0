package dev.relay.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The raw configuration tree (YAML file merged with the environment) before it is bound to the records. */
sealed interface Node {
    /** Where the value came from, e.g. {@code relay.yaml line 12} or {@code RELAY_SPOOL_DIR}. */
    String origin();

    record Scalar(String value, String origin) implements Node {
    }

    record MapNode(Map<String, Node> entries, String origin) implements Node {
        MapNode(String origin) {
            this(new LinkedHashMap<>(), origin);
        }
    }

    record ListNode(List<Node> items, String origin) implements Node {
        ListNode(String origin) {
            this(new ArrayList<>(), origin);
        }
    }
}
