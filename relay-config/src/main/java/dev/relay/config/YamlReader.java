package dev.relay.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads a YAML file into a {@link Node} tree that remembers the line of every value. */
final class YamlReader {
    private static final YAMLFactory FACTORY = YAMLFactory.builder().build();

    private final String file;
    private final JsonParser parser;

    private YamlReader(String file, JsonParser parser) {
        this.file = file;
        this.parser = parser;
    }

    /** The file's top-level mapping (empty for an empty file); a ConfigException names the file and line. */
    static Node.MapNode read(Path path) {
        String file = path.toString();
        try (Reader reader = Files.newBufferedReader(path, StandardCharsets.UTF_8);
             JsonParser parser = FACTORY.createParser(reader)) {
            YamlReader yaml = new YamlReader(file, parser);
            JsonToken first = parser.nextToken();
            if (first == null) {
                return new Node.MapNode(file);
            }
            Node root = yaml.value(first);
            if (root instanceof Node.MapNode map) {
                return map;
            }
            if (root == null) {
                return new Node.MapNode(file);
            }
            throw fail(file, "line 1", "the file must be a YAML mapping of keys (hostname:, listeners:, ...)");
        } catch (NoSuchFileException e) {
            throw fail(file, null, "the configuration file does not exist: check the path");
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            String where = loc == null ? null : "line " + loc.getLineNr() + ", column " + loc.getColumnNr();
            throw fail(file, where, "not valid YAML: " + withoutSource(e.getOriginalMessage()));
        } catch (IOException e) {
            throw fail(file, null, "cannot read the configuration file: " + e);
        }
    }

    /** The parser's explanation without its quotes of the file (a quoted line might hold a secret). */
    static String withoutSource(String message) {
        return message == null ? "" : message.lines()
                .filter(line -> !line.isBlank() && !Character.isWhitespace(line.charAt(0)))
                .collect(java.util.stream.Collectors.joining("; "));
    }

    private static ConfigException fail(String file, String where, String message) {
        return new ConfigException(new ConfigProblem(file, null, where == null ? message : where + ": " + message));
    }

    private String here() {
        return file + " line " + parser.currentTokenLocation().getLineNr();
    }

    /** The value starting at {@code token}; null for an explicit YAML null. */
    private Node value(JsonToken token) throws IOException {
        return switch (token) {
            case START_OBJECT -> map();
            case START_ARRAY -> list();
            case VALUE_NULL -> null;
            default -> new Node.Scalar(parser.getText(), here());
        };
    }

    private Node.MapNode map() throws IOException {
        Node.MapNode map = new Node.MapNode(here());
        JsonToken token;
        while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
            String key = parser.currentName();
            String where = here();
            Node value = value(parser.nextToken());
            if (map.entries().containsKey(key)) {
                throw fail(file, where.substring(file.length() + 1), "the key '" + key
                        + "' is given twice at the same level: keep one");
            }
            map.entries().put(key, value);
        }
        if (token != JsonToken.END_OBJECT) {
            throw fail(file, here(), "unexpected " + token);
        }
        map.entries().values().removeIf(v -> v == null);
        return map;
    }

    private Node.ListNode list() throws IOException {
        Node.ListNode list = new Node.ListNode(here());
        JsonToken token;
        while ((token = parser.nextToken()) != JsonToken.END_ARRAY) {
            if (token == null) {
                throw fail(file, here(), "unexpected end of file in a list");
            }
            list.items().add(value(token));
        }
        return list;
    }
}
