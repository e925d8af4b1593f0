package dev.relay.core.delivery;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * Turns a message with 8-bit content into a 7-bit one, streaming (Postfix's 8BITMIME downgrade, RFC 6152 section
 * 3): fed the stored bytes in chunks of any size, it writes the converted message to a {@link Sink}, keeping only
 * the current line's first bytes, one header section and the stack of open multiparts in memory.
 *
 * <p>It walks the MIME structure as Postfix's {@code mime_state.c} does: the header section of each entity, the
 * boundaries of each multipart (nested too), and the message of a {@code message/rfc822} part (whose header
 * section is parsed like the top one). A leaf part whose content is 8-bit (declared {@code 8bit} or
 * {@code binary}, or with 8-bit bytes under a {@code 7bit} or missing declaration) is encoded: {@code text/*} as
 * quoted-printable (lines of at most 76 characters, trailing white space encoded), anything else as base64; its
 * {@code Content-Transfer-Encoding} field is replaced (or added), and a multipart or message part declared
 * {@code 8bit}/{@code binary} is declared {@code 7bit}. Without a {@code Content-Type} a leaf is
 * {@code text/plain} (RFC 2045 section 5.2; {@code message/rfc822} in a {@code multipart/digest}), so a message
 * without MIME is quoted-printable text: it gets {@code MIME-Version: 1.0} and a {@code Content-Type} naming
 * {@code utf-8} when its 8-bit bytes are UTF-8, {@code unknown-8bit} (RFC 1428) otherwise, because without them the
 * encoding would not mean anything to the reader. Every other header field, and every other part, is left byte for
 * byte as it is; line endings become CRLF.
 *
 * <p>What cannot be converted is refused ({@link #refusal}), never sent 8-bit: 8-bit bytes in a header section
 * (the top one, a part's or an attached message's: RFC 2047 would rewrite what the sender wrote), in a multipart's
 * preamble or epilogue, in a part declared base64 or quoted-printable, or in a part of a {@code multipart/signed}
 * or {@code multipart/encrypted} (changing it breaks the signature); a header section over 256 KiB; multiparts
 * nested deeper than 64.
 *
 * <p>Which leaves hold 8-bit bytes is known only after their header sections, so conversion takes two passes: an
 * analysing one ({@link #analyse}, which outputs nothing and records those leaves), then the converting one with
 * that record ({@link #convert}). Not thread-safe.
 */
final class SevenBitConverter {
    /** Where the converted bytes go. */
    interface Sink {
        void write(byte[] b, int off, int len);

        void write(int b);
    }

    static final Sink DISCARD = new Sink() {
        @Override
        public void write(byte[] b, int off, int len) {
        }

        @Override
        public void write(int b) {
        }
    };

    static final int MAX_HEADER = 256 * 1024;
    static final int MAX_DEPTH = 64;
    /** Longer than any boundary line (70 characters of boundary, the dashes and some white space). */
    private static final int LINE_PREFIX = 1024;
    private static final byte[] CRLF = {'\r', '\n'};

    private enum State { HEADER, PREAMBLE, EPILOGUE, ASIS, STRICT, QP, BASE64 }

    private record Multipart(byte[] boundary, boolean digest, boolean sealed) {}

    private final Sink out;
    private final boolean analysing;
    private final BitSet eightBitLeaves;
    private final BitSet notUtf8Leaves;
    private final List<Multipart> open = new ArrayList<>();
    private final byte[] line = new byte[LINE_PREFIX];
    private int lineLen;
    /** The current line was longer than the prefix: part of it went out already, it is no boundary. */
    private boolean lineContinues;
    private final MimeHeader header = new MimeHeader();
    private State state = State.HEADER;
    private boolean topLevel = true;
    private boolean defaultDigest;
    private boolean sealed;
    private int leaf = -1;
    private String refusal;
    private final TransferEncoder encoder;

    private SevenBitConverter(Sink out, boolean analysing, BitSet eightBitLeaves, BitSet notUtf8Leaves) {
        this.out = out;
        this.analysing = analysing;
        this.eightBitLeaves = eightBitLeaves;
        this.notUtf8Leaves = notUtf8Leaves;
        this.encoder = new TransferEncoder(out);
    }

    /** The first pass: records into the sets which leaves have 8-bit bytes and which of those are not UTF-8. */
    static SevenBitConverter analyse(BitSet eightBitLeaves, BitSet notUtf8Leaves) {
        return new SevenBitConverter(DISCARD, true, eightBitLeaves, notUtf8Leaves);
    }

    /** The second pass, with what {@link #analyse} recorded, writing the 7-bit message to {@code out}. */
    static SevenBitConverter convert(Sink out, BitSet eightBitLeaves, BitSet notUtf8Leaves) {
        return new SevenBitConverter(out, false, eightBitLeaves, notUtf8Leaves);
    }

    /** Why the message cannot be converted, or null (so far). Once set, nothing more is written. */
    String refusal() {
        return refusal;
    }

    /** Feeds {@code len} stored bytes from {@code off}. */
    void write(byte[] b, int off, int len) {
        for (int i = off, end = off + len; i < end && refusal == null; i++) {
            byte c = b[i];
            if (c == '\n') {
                int n = lineLen > 0 && line[lineLen - 1] == '\r' ? lineLen - 1 : lineLen;
                lineLen = 0;
                boolean continued = lineContinues;
                lineContinues = false;
                endOfLine(n, continued);
            } else {
                if (lineLen == line.length) {
                    boolean cr = line[lineLen - 1] == '\r'; // keep a CR that may belong to the line ending
                    int n = cr ? lineLen - 1 : lineLen;
                    content(line, 0, n, !lineContinues);
                    lineContinues = true;
                    lineLen = 0;
                    if (cr) {
                        line[lineLen++] = '\r';
                    }
                }
                line[lineLen++] = c;
            }
        }
    }

    /** Ends the input (an unterminated last line is a line) and closes the open encoding. */
    void finish() {
        if (refusal == null && (lineLen > 0 || lineContinues)) {
            int n = lineLen;
            lineLen = 0;
            boolean continued = lineContinues;
            lineContinues = false;
            endOfLine(n, continued);
        }
        if (refusal == null && state == State.HEADER) {
            endOfHeader();
        }
        if (refusal == null) {
            if (state == State.BASE64) {
                encoder.base64LastLineEnding(); // the top entity's last line ending is its own
            }
            endOfLeaf();
        }
    }

    // ---- lines -------------------------------------------------------------------------------------------------

    private void endOfLine(int n, boolean continued) {
        if (!continued && !open.isEmpty() && n >= 2 && line[0] == '-' && line[1] == '-' && boundary(n)) {
            return;
        }
        content(line, 0, n, !continued);
        if (refusal != null) {
            return;
        }
        switch (state) {
            case HEADER -> {
                if (!continued && n == 0) {
                    endOfHeader();
                } else {
                    header.endLine();
                }
            }
            case QP -> encoder.qpLineEnd();
            case BASE64 -> encoder.base64LineEnd();
            default -> out.write(CRLF, 0, 2);
        }
    }

    /** A piece of the current line (its start when {@code lineStart}), without its line ending. */
    private void content(byte[] b, int off, int len, boolean lineStart) {
        switch (state) {
            case HEADER -> {
                if (has8Bit(b, off, len)) {
                    refuse("8-bit bytes in a header section (" + (topLevel ? "the message's" : "a body part's or an "
                            + "attached message's") + "), which cannot be converted without rewriting it");
                } else if (!header.append(b, off, len)) {
                    refuse("a header section over " + MAX_HEADER / 1024 + " KiB");
                }
            }
            case PREAMBLE, EPILOGUE -> {
                if (has8Bit(b, off, len)) {
                    refuse("8-bit bytes in a multipart preamble or epilogue, which has no encoding of its own");
                } else {
                    out.write(b, off, len);
                }
            }
            case ASIS, STRICT -> {
                if (has8Bit(b, off, len)) {
                    if (state == State.STRICT) {
                        refuse("8-bit bytes in a part declared base64 or quoted-printable (a corrupt part)");
                    } else if (sealed) {
                        refuse("8-bit bytes in a part of a multipart/signed or multipart/encrypted, which cannot "
                                + "be changed without breaking its signature");
                    } else if (analysing) {
                        eightBitLeaves.set(leaf);
                    } else {
                        refuse("8-bit bytes the first pass did not see (the message changed?)");
                    }
                }
                if (analysing) {
                    encoder.checkUtf8(b, off, len);
                }
                out.write(b, off, len);
            }
            case QP -> {
                if (analysing) {
                    encoder.checkUtf8(b, off, len);
                }
                encoder.qp(b, off, len);
            }
            case BASE64 -> {
                if (analysing) {
                    encoder.checkUtf8(b, off, len);
                }
                encoder.base64(b, off, len, lineStart);
            }
        }
    }

    /** Whether the line is a delimiter of an open multipart; if so, it is handled. */
    private boolean boundary(int n) {
        levels:
        for (int level = open.size() - 1; level >= 0; level--) {
            byte[] bd = open.get(level).boundary();
            if (n < 2 + bd.length || !regionEquals(line, 2, bd)) {
                continue;
            }
            int i = 2 + bd.length;
            boolean close = n >= i + 2 && line[i] == '-' && line[i + 1] == '-';
            for (int j = close ? i + 2 : i; j < n; j++) {
                if (line[j] != ' ' && line[j] != '\t') {
                    continue levels; // "--boundary" and more: not this delimiter, maybe an enclosing one's
                }
            }
            if (state == State.HEADER) {
                endOfHeader(); // a part without a blank line: its header ends here, its body is empty
                if (refusal != null) {
                    return true;
                }
            }
            endOfLeaf();
            while (open.size() > level + 1) {
                open.remove(open.size() - 1);
            }
            out.write(line, 0, n);
            out.write(CRLF, 0, 2);
            Multipart m = open.get(level);
            sealed = m.sealed();
            topLevel = false;
            if (close) {
                state = State.EPILOGUE;
            } else {
                state = State.HEADER;
                defaultDigest = m.digest();
            }
            return true;
        }
        return false;
    }

    // ---- entities ----------------------------------------------------------------------------------------------

    private void endOfHeader() {
        MimeHeader h = header;
        h.parse();
        String type = h.type != null ? h.type : defaultDigest ? "message/rfc822" : "text/plain";
        String cte = h.encoding == null ? "7bit" : h.encoding;
        boolean eight = cte.equals("8bit") || cte.equals("binary");
        boolean plain = eight || cte.equals("7bit");
        if (type.startsWith("multipart/") && plain && h.boundary != null) {
            if (open.size() >= MAX_DEPTH) {
                refuse("multiparts nested deeper than " + MAX_DEPTH);
                return;
            }
            boolean seal = sealed || type.equals("multipart/signed") || type.equals("multipart/encrypted");
            open.add(new Multipart(h.boundary.getBytes(StandardCharsets.ISO_8859_1),
                    type.equals("multipart/digest"), seal));
            emitHeader(h, eight ? "7bit" : null, null, topLevel && h.mimeVersion < 0);
            state = State.PREAMBLE;
        } else if (type.equals("message/rfc822") && plain) {
            emitHeader(h, eight ? "7bit" : null, null, topLevel && h.mimeVersion < 0);
            topLevel = false;
            defaultDigest = false;
            state = State.HEADER; // the attached message's own header section
        } else {
            leaf++;
            encoder.start();
            boolean convert = plain && (eight || (!analysing && eightBitLeaves.get(leaf)));
            if (convert && sealed) {
                refuse("8-bit content in a part of a multipart/signed or multipart/encrypted, which cannot be "
                        + "changed without breaking its signature");
                return;
            }
            if (!convert) {
                emitHeader(h, null, null, false);
                state = plain ? State.ASIS : State.STRICT;
                return;
            }
            boolean text = type.startsWith("text/");
            String contentType = h.type != null ? null : "text/plain; charset="
                    + (!analysing && notUtf8Leaves.get(leaf) ? "unknown-8bit" : "utf-8");
            emitHeader(h, text ? "quoted-printable" : "base64", text ? contentType : null,
                    topLevel && h.mimeVersion < 0);
            state = text ? State.QP : State.BASE64;
        }
    }

    /** The end of a leaf's body: closes its encoding and records what the UTF-8 check found. */
    private void endOfLeaf() {
        if (state == State.QP) {
            encoder.qpEnd();
        } else if (state == State.BASE64) {
            encoder.base64End();
        }
        boolean leafBody = state == State.ASIS || state == State.STRICT || state == State.QP || state == State.BASE64;
        if (analysing && leafBody && !encoder.utf8()) {
            notUtf8Leaves.set(leaf);
        }
    }

    private void emitHeader(MimeHeader h, String newEncoding, String addType, boolean addVersion) {
        h.writeTo(out, newEncoding);
        if (addVersion && newEncoding != null) {
            writeAscii("MIME-Version: 1.0\r\n");
        }
        if (addType != null) {
            writeAscii("Content-Type: " + addType + "\r\n");
        }
        if (newEncoding != null && h.encoding == null) {
            writeAscii("Content-Transfer-Encoding: " + newEncoding + "\r\n");
        }
        out.write(CRLF, 0, 2);
        h.clear();
    }

    // ---- small helpers -----------------------------------------------------------------------------------------

    private void refuse(String why) {
        if (refusal == null) {
            refusal = why;
        }
    }

    private void writeAscii(String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        out.write(b, 0, b.length);
    }

    private static boolean has8Bit(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            if (b[i] < 0) {
                return true;
            }
        }
        return false;
    }

    private static boolean regionEquals(byte[] b, int off, byte[] what) {
        for (int i = 0; i < what.length; i++) {
            if (b[off + i] != what[i]) {
                return false;
            }
        }
        return true;
    }
}
