package dev.relay.core.tls;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The common PEM files read with the JDK only: each method returns null whenever it is not sure to give exactly
 * what {@link Pem}'s BouncyCastle path gives (another block type, PEM headers such as encryption, a key algorithm
 * it does not know, anything that does not parse), and {@link Pem} then takes that path.
 */
final class JdkPem {
    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----\\r?\\n([A-Za-z0-9+/=\\r\\n\\t ]*?)-----END \\1-----");
    /** Encoded object identifiers (DER contents) of the key algorithms handled here, and their JDK names. */
    private static final byte[] RSA = {0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01};
    private static final byte[] EC = {0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};
    private static final byte[] ED25519 = {0x2b, 0x65, 0x70};
    private static final byte[] ED448 = {0x2b, 0x65, 0x71};

    private JdkPem() {
    }

    private record Block(String type, byte[] der) {
    }

    /** The blocks of {@code text} in order; null if one has headers or a body that is not base64. */
    private static List<Block> blocks(String text) {
        List<Block> blocks = new ArrayList<>();
        Matcher m = BLOCK.matcher(text);
        int begins = 0;
        for (int i = text.indexOf("-----BEGIN "); i >= 0; i = text.indexOf("-----BEGIN ", i + 1)) {
            begins++;
        }
        while (m.find()) {
            try {
                blocks.add(new Block(m.group(1), Base64.getMimeDecoder().decode(m.group(2))));
            } catch (IllegalArgumentException e) {
                return null;
            }
        }
        return blocks.size() == begins ? blocks : null; // a block with headers or an odd body did not match
    }

    /** Every certificate, in order, if the text holds certificates only, each of which the JDK reads; else null. */
    static List<X509Certificate> certificates(String text) {
        List<Block> blocks = blocks(text);
        if (blocks == null || blocks.isEmpty()) {
            return null;
        }
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            List<X509Certificate> out = new ArrayList<>(blocks.size());
            for (Block b : blocks) {
                if (!b.type().equals("CERTIFICATE")) {
                    return null;
                }
                out.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(b.der())));
            }
            return out;
        } catch (GeneralSecurityException | RuntimeException e) {
            return null;
        }
    }

    /**
     * The first private key, if the text holds only certificates and keys and its first key is an unencrypted
     * PKCS#8 ({@code PRIVATE KEY}) key of RSA, EC, Ed25519 or Ed448, or a PKCS#1 ({@code RSA PRIVATE KEY}) key;
     * else null.
     */
    static PrivateKey privateKey(String text) {
        List<Block> blocks = blocks(text);
        if (blocks == null) {
            return null;
        }
        for (Block b : blocks) {
            try {
                switch (b.type()) {
                    case "CERTIFICATE" -> {
                        continue; // BouncyCastle's path skips them too
                    }
                    case "PRIVATE KEY" -> {
                        String algorithm = pkcs8Algorithm(b.der());
                        return algorithm == null ? null
                                : KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(b.der()));
                    }
                    case "RSA PRIVATE KEY" -> {
                        return KeyFactory.getInstance("RSA")
                                .generatePrivate(new PKCS8EncodedKeySpec(rsaPkcs8(b.der())));
                    }
                    default -> {
                        return null;
                    }
                }
            } catch (GeneralSecurityException | RuntimeException e) {
                return null;
            }
        }
        return null;
    }

    /**
     * The JDK name of the algorithm of a PKCS#8 PrivateKeyInfo (SEQUENCE { INTEGER version, SEQUENCE { OID, ... },
     * OCTET STRING }), or null.
     */
    static String pkcs8Algorithm(byte[] der) {
        Der d = new Der(der);
        if (!d.enter(0x30) || !d.skip(0x02) || !d.enter(0x30)) {
            return null;
        }
        byte[] oid = d.contents(0x06);
        if (oid == null) {
            return null;
        }
        if (Arrays.equals(oid, RSA)) {
            return "RSA";
        } else if (Arrays.equals(oid, EC)) {
            return "EC";
        } else if (Arrays.equals(oid, ED25519)) {
            return "Ed25519";
        } else if (Arrays.equals(oid, ED448)) {
            return "Ed448";
        }
        return null;
    }

    /** A PKCS#1 RSAPrivateKey wrapped as PKCS#8: SEQUENCE { 0, SEQUENCE { rsaEncryption, NULL }, OCTET STRING }. */
    static byte[] rsaPkcs8(byte[] pkcs1) {
        ByteArrayOutputStream algorithm = new ByteArrayOutputStream();
        tlv(algorithm, 0x06, RSA);
        tlv(algorithm, 0x05, new byte[0]);
        ByteArrayOutputStream info = new ByteArrayOutputStream();
        tlv(info, 0x02, new byte[] {0});
        tlv(info, 0x30, algorithm.toByteArray());
        tlv(info, 0x04, pkcs1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        tlv(out, 0x30, info.toByteArray());
        return out.toByteArray();
    }

    private static void tlv(ByteArrayOutputStream out, int tag, byte[] contents) {
        out.write(tag);
        int n = contents.length;
        if (n < 0x80) {
            out.write(n);
        } else {
            int bytes = n > 0xffffff ? 4 : n > 0xffff ? 3 : n > 0xff ? 2 : 1;
            out.write(0x80 | bytes);
            for (int i = bytes - 1; i >= 0; i--) {
                out.write(n >>> (8 * i));
            }
        }
        out.writeBytes(contents);
    }

    /**
     * Just enough of a DER reader to find an algorithm identifier or a key's public part; every method fails softly
     * (false, null).
     */
    static final class Der {
        private final byte[] b;
        private int pos;

        Der(byte[] b) {
            this.b = b;
        }

        /** The length of the element at pos with {@code tag}, moving pos to its contents; -1 if it is not one. */
        private int header(int tag) {
            if (pos + 2 > b.length || (b[pos] & 0xff) != tag) {
                return -1;
            }
            int first = b[pos + 1] & 0xff;
            pos += 2;
            if (first < 0x80) {
                return first;
            }
            int bytes = first & 0x7f;
            if (bytes == 0 || bytes > 3 || pos + bytes > b.length) {
                return -1;
            }
            int n = 0;
            for (int i = 0; i < bytes; i++) {
                n = (n << 8) | (b[pos++] & 0xff);
            }
            return n;
        }

        /** Whether the element at pos has {@code tag}. */
        boolean at(int tag) {
            return pos < b.length && (b[pos] & 0xff) == tag;
        }

        boolean enter(int tag) {
            int n = header(tag);
            return n >= 0 && pos + n <= b.length;
        }

        boolean skip(int tag) {
            int n = header(tag);
            if (n < 0 || pos + n > b.length) {
                return false;
            }
            pos += n;
            return true;
        }

        byte[] contents(int tag) {
            int n = header(tag);
            if (n < 0 || pos + n > b.length) {
                return null;
            }
            return Arrays.copyOfRange(b, pos, pos + n);
        }
    }
}
