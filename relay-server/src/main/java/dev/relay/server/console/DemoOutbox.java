package dev.relay.server.console;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The demo capture sink's outbox as the console shows it: the {@code .eml} files, newest first, and one of them
 * with its headers, its text (the part after the headers) and its raw form. A name is taken only as it is listed:
 * a request cannot reach a file outside the outbox.
 */
final class DemoOutbox {
    /** At most this many messages are listed, and this many bytes of one are shown. */
    static final int MAX_LISTED = 200;
    static final int MAX_SHOWN = 1 << 20;

    private final Path dir;

    DemoOutbox(Path dir) {
        this.dir = dir;
    }

    List<Pages.DemoRow> list() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".eml"))
                    .sorted(Comparator.comparing(DemoOutbox::modified).reversed()).limit(MAX_LISTED).toList();
        }
        List<Pages.DemoRow> out = new ArrayList<>();
        for (Path f : files) {
            List<Pages.Count> h = headers(read(f, 64 * 1024));
            out.add(new Pages.DemoRow(f.getFileName().toString(), modified(f).toString(), header(h, "From"),
                    header(h, "X-Sink-Envelope-To", "To"), header(h, "Subject")));
        }
        return out;
    }

    /** The message in the outbox named {@code name}, if there is one by that name. */
    Optional<Pages.DemoMessage> show(String name) throws IOException {
        if (!name.matches("[A-Za-z0-9._-]+\\.eml") || name.startsWith(".")) {
            return Optional.empty();
        }
        Path f = dir.resolve(name);
        if (!f.getParent().equals(dir) || !Files.isRegularFile(f)) {
            return Optional.empty();
        }
        String raw = read(f, MAX_SHOWN);
        int end = raw.indexOf("\r\n\r\n");
        int skip = 4;
        if (end < 0 || raw.indexOf("\n\n") >= 0 && raw.indexOf("\n\n") < end) {
            end = raw.indexOf("\n\n");
            skip = 2;
        }
        String text = end < 0 ? "" : raw.substring(end + skip);
        return Optional.of(new Pages.DemoMessage(name, headers(raw), text, raw));
    }

    /** The header fields before the first empty line, continuation lines unfolded. */
    static List<Pages.Count> headers(String raw) {
        List<Pages.Count> out = new ArrayList<>();
        String name = null;
        StringBuilder value = new StringBuilder();
        for (String line : raw.split("\r?\n", -1)) {
            if (line.isEmpty()) {
                break;
            }
            if ((line.startsWith(" ") || line.startsWith("\t")) && name != null) {
                value.append(' ').append(line.trim());
                continue;
            }
            if (name != null) {
                out.add(new Pages.Count(name, value.toString()));
            }
            int colon = line.indexOf(':');
            name = colon < 0 ? line : line.substring(0, colon);
            value = new StringBuilder(colon < 0 ? "" : line.substring(colon + 1).trim());
        }
        if (name != null) {
            out.add(new Pages.Count(name, value.toString()));
        }
        return out;
    }

    private static String header(List<Pages.Count> headers, String... names) {
        for (String n : names) {
            for (Pages.Count h : headers) {
                if (h.name().toLowerCase(Locale.ROOT).equals(n.toLowerCase(Locale.ROOT))) {
                    return h.value();
                }
            }
        }
        return "";
    }

    private static String read(Path f, int max) throws IOException {
        try (var in = Files.newInputStream(f)) {
            return new String(in.readNBytes(max), StandardCharsets.UTF_8);
        }
    }

    private static Instant modified(Path f) {
        try {
            return Files.getLastModifiedTime(f).toInstant();
        } catch (IOException e) {
            return Instant.EPOCH;
        }
    }
}
