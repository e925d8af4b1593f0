package dev.relay.core.dkim;

import dev.relay.config.DkimConfig;
import dev.relay.config.DkimConfig.Algorithm;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.Signature;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Signs messages for one route (RFC 6376, relaxed/relaxed, SHA-256): {@link #sign} reads a message once, the
 * header section field by field (only the fields to sign are kept) and the body into the body hash, and returns the
 * {@code DKIM-Signature} field to put in front of it. Thread-safe: every call has its own state.
 *
 * <p>Signed fields: each configured name once per occurrence in the message (several occurrences bottom-up, RFC
 * 6376 section 5.4.2); names the message lacks are left out, except {@code from}, which is always listed once
 * more than it occurs, so that a From added on the way cannot pass as signed.
 */
public final class DkimSigner {
    /** A signed field longer than this is refused: its message cannot be signed (and is deferred, never sent). */
    static final int MAX_FIELD = 256 * 1024;
    private static final int FOLD = 72;

    private final DkimConfig config;
    private final DkimKey key;
    private final InstantSource clock;

    public DkimSigner(DkimConfig config, DkimKey key, InstantSource clock) {
        this.config = Objects.requireNonNull(config, "config");
        this.key = Objects.requireNonNull(key, "key");
        this.clock = Objects.requireNonNull(clock, "clock");
        if (key.algorithm() != config.algorithm()) {
            throw new IllegalArgumentException("a " + key + " cannot sign " + config.algorithm().key());
        }
    }

    /** A signer for {@code config}, its key read from its key file now. */
    public static DkimSigner load(DkimConfig config, InstantSource clock) throws IOException {
        return new DkimSigner(config, DkimKey.load(config.keyFile(), config.algorithm()), clock);
    }

    public DkimConfig config() {
        return config;
    }

    /** The key's warning, or null: an RSA key shorter than recommended. */
    public String warning() {
        return key.weak() ? "the RSA key in " + config.keyFile() + " has " + key.bits() + " bits; "
                + DkimKey.RECOMMENDED_RSA_BITS + " or more are recommended (RFC 8301)" : null;
    }

    /**
     * The {@code DKIM-Signature} field (CRLF-terminated, ISO-8859-1 bytes) for the message {@code in} reads.
     *
     * @throws IOException if the message cannot be read or a field to sign is longer than {@link #MAX_FIELD}
     * @throws GeneralSecurityException if the JDK cannot sign (should not happen with a checked key)
     */
    public byte[] sign(InputStream in) throws IOException, GeneralSecurityException {
        MessageLines lines = new MessageLines(in);
        List<String> fields = new ArrayList<>(); // the fields to sign, raw, in message order
        ByteArrayOutputStream field = new ByteArrayOutputStream();
        boolean inField = false; // a field has begun: a line starting with white space continues it
        boolean keep = false; // ... and it is to be signed
        byte[] firstBodyLine = null;
        for (byte[] line; (line = lines.next()) != null; ) {
            if (line.length > 0 && (line[0] == ' ' || line[0] == '\t') && inField) {
                if (keep) {
                    append(field, line);
                }
                continue;
            }
            if (keep) {
                fields.add(field.toString(StandardCharsets.ISO_8859_1));
                field.reset();
            }
            String name = fieldName(line);
            if (name == null) { // the blank line, or a body without one: the rest is the body
                firstBodyLine = line.length == 0 ? null : line;
                break;
            }
            inField = true;
            keep = config.headers().contains(name);
            if (keep) {
                append(field, line);
            }
        }
        if (keep && field.size() > 0) { // the message ended in its header section
            fields.add(field.toString(StandardCharsets.ISO_8859_1));
        }
        byte[] bodyHash = bodyHash(lines, firstBodyLine);
        return signature(fields, bodyHash);
    }

    private static void append(ByteArrayOutputStream field, byte[] line) throws IOException {
        if (field.size() + line.length + 2 > MAX_FIELD) {
            throw new IOException("a header field to sign is longer than " + MAX_FIELD / 1024 + " KiB");
        }
        field.write(line);
        field.write('\r');
        field.write('\n');
    }

    /** The lower-case name of the field {@code line} starts, or null if it starts none. */
    private static String fieldName(byte[] line) {
        for (int i = 0; i < line.length; i++) {
            if (line[i] == ':') {
                return i == 0 ? null : new String(line, 0, i, StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT);
            }
            if (line[i] < '!' || line[i] > '~') {
                return null;
            }
        }
        return null;
    }

    private static byte[] bodyHash(MessageLines lines, byte[] firstBodyLine) throws IOException,
            GeneralSecurityException {
        Relaxed body = new Relaxed(MessageDigest.getInstance("SHA-256"));
        if (firstBodyLine != null) {
            body.update(firstBodyLine, 0, firstBodyLine.length);
            body.update(new byte[] {'\r', '\n'}, 0, 2);
        }
        lines.rest((b, n) -> body.update(b, 0, n));
        return body.finish();
    }

    private byte[] signature(List<String> fields, byte[] bodyHash) throws GeneralSecurityException {
        StringBuilder data = new StringBuilder();
        List<String> names = new ArrayList<>();
        for (String name : config.headers()) {
            for (int i = fields.size() - 1; i >= 0; i--) { // bottom-up
                String f = fields.get(i);
                if (f.substring(0, f.indexOf(':')).strip().toLowerCase(Locale.ROOT).equals(name)) {
                    names.add(name);
                    data.append(Relaxed.header(f));
                }
            }
        }
        names.add("from"); // one more than there are: nothing can add a From that passes as signed
        String time = "\tt=" + clock.instant().getEpochSecond() + "; h=";
        String head = "DKIM-Signature: v=1; a=" + config.algorithm().key() + "; c=relaxed/relaxed;\r\n\td="
                + config.domain() + "; s=" + config.selector() + ";\r\n" + time
                + folded(String.join(":", names), time.length() + 1, ":") + ";\r\n\tbh="
                + Base64.getEncoder().encodeToString(bodyHash) + ";\r\n\tb=";
        String canonical = Relaxed.header(head);
        data.append(canonical, 0, canonical.length() - 2); // the signature's own field, without its CRLF
        byte[] signed = data.toString().getBytes(StandardCharsets.ISO_8859_1);
        Signature signer;
        if (config.algorithm() == Algorithm.RSA_SHA256) {
            signer = Signature.getInstance("SHA256withRSA");
        } else { // RFC 8463: Ed25519 signs the SHA-256 hash of the data
            signer = Signature.getInstance("Ed25519");
            signed = MessageDigest.getInstance("SHA-256").digest(signed);
        }
        signer.initSign(key.privateKey());
        signer.update(signed);
        String b = Base64.getEncoder().encodeToString(signer.sign());
        return (head + folded(b, 3, null) + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
    }

    /**
     * {@code value} folded to lines of about {@link #FOLD} characters: after a {@code separator}, or anywhere
     * when it is null (base64, where white space is ignored); {@code used} is what the first line has already.
     */
    private static String folded(String value, int used, String separator) {
        StringBuilder out = new StringBuilder(value.length() + 16);
        int line = used;
        int start = 0;
        while (value.length() - start > FOLD - line) {
            int cut = start + FOLD - line;
            if (separator != null) {
                int sep = value.lastIndexOf(separator, cut - 1);
                cut = sep < start ? value.indexOf(separator, cut) : sep;
                if (cut < 0) {
                    break;
                }
                cut += separator.length();
            }
            out.append(value, start, cut).append("\r\n\t");
            start = cut;
            line = 1;
        }
        return out.append(value, start, value.length()).toString();
    }
}
