package dev.relay.core.routing;

import dev.relay.config.AddressRewrite;
import dev.relay.core.model.HeaderAddresses;
import dev.relay.core.spool.Body;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Applies a route's {@link Route.Rewrite} to a message's header section while copying it: header fields are read
 * one at a time (folded continuation lines included) up to the blank line, the body after it is copied byte for
 * byte and never held in memory. Header bytes are handled as ISO-8859-1, so 8-bit or UTF-8 headers pass through
 * unchanged.
 *
 * <p>Changes: fields named in {@code stripHeaders} are dropped; every {@code From} gets its address rewritten
 * (the display name is kept; the address is the one an RFC 5322 parser, {@link HeaderAddresses}, reads, and a
 * {@code From} of several mailboxes becomes the first one rewritten, so no author's address goes out as it was),
 * folded at spaces to lines of at most 78 characters where it can be; with {@code replyToOriginal} and no
 * {@code Reply-To} in the message, the first From value (as it was, folding included) is added as {@code Reply-To}
 * at the end of the header section. A header field too long to parse ({@link #MAX_FIELD}) is copied unchanged with
 * the rest of the message, unless the From is to be rewritten: then {@link TooLongToRewrite} is thrown, since a
 * From in what is copied unchanged would go out as it was.
 */
final class HeaderRewriter {
    /** A field longer than this is not parsed: it and the rest of the message are copied unchanged. */
    static final int MAX_FIELD = 256 * 1024;
    /** Where a rewritten From is folded if it can be (RFC 5322 section 2.1.1). */
    static final int FOLD_AT = 78;

    /** The header section cannot be rewritten: a field is longer than {@link #MAX_FIELD}. Permanent. */
    static final class TooLongToRewrite extends IOException {
        TooLongToRewrite() {
            super("a header field is longer than " + MAX_FIELD / 1024 + " KiB: the From cannot be rewritten");
        }
    }
    private static final byte[] CRLF = {'\r', '\n'};

    private final Route.Rewrite rewrite;
    private final OutputStream out;
    private String originalFrom; // the first From's raw value after "From:", folding and line end included
    private boolean sawReplyTo;

    private HeaderRewriter(Route.Rewrite rewrite, OutputStream out) {
        this.rewrite = rewrite;
        this.out = out;
    }

    /** Rewrites the message {@code source} into the file {@code target}. */
    static void rewrite(Body source, Path target, Route.Rewrite rewrite) throws IOException {
        try (InputStream in = new BufferedInputStream(source.open(), 64 * 1024);
             OutputStream out = new BufferedOutputStream(Files.newOutputStream(target), 64 * 1024)) {
            rewrite(in, out, rewrite);
        }
    }

    static void rewrite(InputStream in, OutputStream out, Route.Rewrite rewrite) throws IOException {
        new HeaderRewriter(rewrite, out).run(in);
    }

    private void run(InputStream in) throws IOException {
        ByteArrayOutputStream field = new ByteArrayOutputStream();
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        while (true) {
            line.reset();
            int room = MAX_FIELD - field.size();
            if (room <= 0) { // too long to parse: copy the rest as is
                refuseIfFromRewritten();
                field.writeTo(out);
                in.transferTo(out);
                return;
            }
            boolean complete = readLine(in, line, room);
            if (line.size() == 0) { // end of the message without a blank line
                flush(field);
                endOfHeaders();
                return;
            }
            if (!complete && line.size() >= room) { // too long to parse: copy the rest as is
                refuseIfFromRewritten();
                field.writeTo(out);
                line.writeTo(out);
                in.transferTo(out);
                return;
            }
            byte first = line.toByteArray()[0];
            if ((first == ' ' || first == '\t') && field.size() > 0) {
                line.writeTo(field); // a folded continuation of the current field
                continue;
            }
            flush(field);
            if (isBlank(line) || !isFieldStart(line)) { // the blank line, or a body without one
                endOfHeaders();
                line.writeTo(out);
                in.transferTo(out);
                return;
            }
            line.writeTo(field);
        }
    }

    /** Reads up to and including LF, at most {@code max} bytes; false if the line ended without LF. */
    private static boolean readLine(InputStream in, ByteArrayOutputStream line, int max) throws IOException {
        int b;
        while (line.size() < max && (b = in.read()) >= 0) {
            line.write(b);
            if (b == '\n') {
                return true;
            }
        }
        return false;
    }

    private static boolean isBlank(ByteArrayOutputStream line) {
        String s = line.toString(StandardCharsets.ISO_8859_1);
        return s.equals("\r\n") || s.equals("\n");
    }

    private static boolean isFieldStart(ByteArrayOutputStream line) {
        byte[] b = line.toByteArray();
        for (int i = 0; i < b.length; i++) {
            if (b[i] == ':') {
                return i > 0;
            }
            if (b[i] < '!' || b[i] > '~') {
                return false;
            }
        }
        return false;
    }

    private void flush(ByteArrayOutputStream field) throws IOException {
        if (field.size() == 0) {
            return;
        }
        String raw = field.toString(StandardCharsets.ISO_8859_1);
        field.reset();
        int colon = raw.indexOf(':');
        String name = raw.substring(0, colon).toLowerCase(Locale.ROOT);
        if (rewrite.stripHeaders().contains(name)) {
            return;
        }
        if (name.equals("reply-to")) {
            sawReplyTo = true;
        }
        if (name.equals("from") && rewrite.from() != null) {
            String original = raw.substring(colon + 1);
            if (originalFrom == null) {
                originalFrom = original;
            }
            out.write(fold("From: " + rewriteMailbox(original, rewrite.from())).getBytes(StandardCharsets.ISO_8859_1));
            out.write(CRLF);
            return;
        }
        out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** What is left is copied unchanged: a From in it would go out as it was. */
    private void refuseIfFromRewritten() throws TooLongToRewrite {
        if (rewrite.from() != null) {
            throw new TooLongToRewrite();
        }
    }

    /**
     * {@code line} (no line end) folded before a space or tab so that each line has at most {@link #FOLD_AT}
     * characters where a space allows it; a run without one stays whole (it came from a line of at most 998).
     */
    static String fold(String line) {
        StringBuilder out = new StringBuilder(line.length() + 8);
        int start = 0;
        while (line.length() - start > FOLD_AT) {
            int cut = -1;
            for (int i = start + FOLD_AT; i > start; i--) {
                char c = line.charAt(i);
                if (c == ' ' || c == '\t') {
                    cut = i;
                    break;
                }
            }
            if (cut < 0) { // no space within the limit: fold at the first one after it
                for (int i = start + FOLD_AT + 1; i < line.length(); i++) {
                    char c = line.charAt(i);
                    if (c == ' ' || c == '\t') {
                        cut = i;
                        break;
                    }
                }
            }
            if (cut < 0) {
                break;
            }
            out.append(line, start, cut).append("\r\n");
            start = cut; // the space begins the continuation line
        }
        return out.append(line, start, line.length()).toString();
    }

    private void endOfHeaders() throws IOException {
        if (rewrite.replyToOriginal() && originalFrom != null && !sawReplyTo) {
            out.write(("Reply-To:" + originalFrom).getBytes(StandardCharsets.ISO_8859_1));
            if (!originalFrom.endsWith("\n")) {
                out.write(CRLF);
            }
        }
    }

    /**
     * The mailbox {@code value} (a From field's value) with its address rewritten: {@code "Alice" <a@x.org>}
     * keeps its display name, {@code a@x.org (Alice)} its comment. Unfolded and trimmed.
     */
    static String rewriteMailbox(String value, AddressRewrite to) {
        String rewritten = rewriteAsRead(value, to);
        List<String> read;
        try {
            read = HeaderAddresses.parse(rewritten);
        } catch (HeaderAddresses.MalformedException e) {
            return rewritten; // no mail reader reads an address in it
        }
        String only = to.apply(read.get(0));
        // a From that does not parse, rewritten by the lenient reading, can read as an address left as it was
        // (`a@x.orgÉ,Ë@r.mor±` became `a@x.orgÉ,Ë@verified.test`, read as a@x.orgé and ë@verified.test): then
        // the first address a reader reads, rewritten, alone
        return read.size() == 1 && read.get(0).equalsIgnoreCase(only) ? rewritten : "<" + only + ">";
    }

    private static String rewriteAsRead(String value, AddressRewrite to) {
        String v = value.replaceAll("\r?\n", "").trim();
        List<String> parsed;
        try {
            parsed = HeaderAddresses.parse(v);
        } catch (HeaderAddresses.MalformedException e) {
            parsed = null; // not RFC 5322: rewritten as well as the lenient reading below can
        }
        if (parsed != null && parsed.size() != 1) { // several authors: one rewritten mailbox, none left as it was
            return "<" + to.apply(parsed.get(0)) + ">";
        }
        String expected = parsed == null ? null : parsed.get(0);
        boolean quoted = false;
        int comment = 0;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == '"' && comment == 0) {
                quoted = !quoted;
            } else if (!quoted && c == '(') {
                comment++;
            } else if (!quoted && c == ')' && comment > 0) {
                comment--;
            } else if (!quoted && comment == 0 && c == '<') {
                int end = v.indexOf('>', i);
                String address = v.substring(i + 1, end < 0 ? v.length() : end).trim();
                if (expected != null && !address.equalsIgnoreCase(expected)) {
                    return "<" + to.apply(expected) + ">"; // read otherwise than a mail reader reads it
                }
                String display = v.substring(0, i).trim();
                String rewritten = "<" + to.apply(address) + ">";
                return display.isEmpty() ? rewritten : display + " " + rewritten;
            }
        }
        String bare = v.replaceAll("\\([^)]*\\)", " ").trim();
        int space = bare.indexOf(' ');
        String address = space < 0 ? bare : bare.substring(0, space);
        if (expected != null && !address.equalsIgnoreCase(expected)) {
            return "<" + to.apply(expected) + ">";
        }
        if (address.isEmpty()) {
            return to.keepsLocalPart() ? v : "<" + to.apply("") + ">";
        }
        int at = v.indexOf(address);
        return v.substring(0, at) + to.apply(address) + v.substring(at + address.length());
    }
}
