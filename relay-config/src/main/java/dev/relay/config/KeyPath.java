package dev.relay.config;

import java.util.List;

/** Key paths as shown to people: {@code upstreams[0].url}. */
final class KeyPath {
    private KeyPath() {
    }

    static String format(List<Object> path) {
        StringBuilder sb = new StringBuilder();
        for (Object segment : path) {
            if (segment instanceof Integer index) {
                sb.append('[').append(index).append(']');
            } else {
                if (!sb.isEmpty()) {
                    sb.append('.');
                }
                sb.append(segment);
            }
        }
        return sb.toString();
    }

    /** {@code parent.key}; a blank key (YAML allows {@code "": 1} and a bare {@code ?}) is shown quoted. */
    static String child(String parent, String key) {
        String shown = key.isBlank() ? "'" + key + "'" : key;
        return parent.isEmpty() ? shown : parent + "." + shown;
    }

    static String item(String parent, int index) {
        return parent + "[" + index + "]";
    }
}
