package dev.relay.core.tls;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;

/**
 * PEM files: certificate chains and private keys in PKCS#8, PKCS#1 (RSA) and SEC1 (EC) form.
 *
 * <p>Plain certificates and unencrypted PKCS#8 or PKCS#1 keys, the usual files, are read with the JDK alone
 * ({@link JdkPem}); anything else, and any file the JDK cannot read, goes through BouncyCastle as before, which
 * gives the same objects and the error messages below. The reason is start-up time: BouncyCastle's jars are
 * signed, so the first class loaded from them verifies the jar and none of their classes can be kept in a class
 * data sharing archive; reading the relay's certificate through it cost a third of a second of every start.
 */
public final class Pem {
    private Pem() {}

    /** Every certificate in a PEM file, in file order. */
    public static List<X509Certificate> readCertificates(Path file) throws IOException {
        List<X509Certificate> fast = JdkPem.certificates(Files.readString(file, StandardCharsets.ISO_8859_1));
        return fast != null ? fast : bouncyCastleCertificates(file);
    }

    /** As {@link #readCertificates}, always through BouncyCastle. */
    static List<X509Certificate> bouncyCastleCertificates(Path file) throws IOException {
        List<X509Certificate> out = new ArrayList<>();
        JcaX509CertificateConverter conv = new JcaX509CertificateConverter();
        try {
            bouncyCastleFirst(file, o -> {
                if (o instanceof X509CertificateHolder h) {
                    out.add(conv.getCertificate(h));
                }
                return null; // every one
            });
        } catch (CertificateException e) {
            throw new IOException(file + ": invalid certificate: " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new IOException(file + ": no PEM certificate found (expected -----BEGIN CERTIFICATE-----)");
        }
        return out;
    }

    /** The first private key in a PEM file. */
    public static PrivateKey readPrivateKey(Path file) throws IOException {
        PrivateKey fast = JdkPem.privateKey(Files.readString(file, StandardCharsets.ISO_8859_1));
        return fast != null ? fast : bouncyCastlePrivateKey(file);
    }

    /** As {@link #readPrivateKey}, always through BouncyCastle. */
    static PrivateKey bouncyCastlePrivateKey(Path file) throws IOException {
        JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
        // PKCS#8, or PKCS#1 RSA or SEC1 EC (public part optional)
        PrivateKey key = bouncyCastleFirst(file, o -> o instanceof PrivateKeyInfo info ? conv.getPrivateKey(info)
                : o instanceof PEMKeyPair pair ? conv.getPrivateKey(pair.getPrivateKeyInfo()) : null);
        if (key != null) {
            return key;
        }
        throw new IOException(file + ": no unencrypted PEM private key found (PKCS#8, PKCS#1 RSA or EC)");
    }

    /** What {@link #bouncyCastleFirst} does with each object. */
    private interface Visit<T, E extends Exception> {
        /** A value to stop with, or null to go on. */
        T visit(Object pemObject) throws IOException, E;
    }

    /** The PEM objects of a file as BouncyCastle parses them, in file order, until one gives a value: that, or null. */
    private static <T, E extends Exception> T bouncyCastleFirst(Path file, Visit<T, E> visit) throws IOException, E {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
             PEMParser parser = new PEMParser(r)) {
            Object o;
            while ((o = parser.readObject()) != null) {
                T value = visit.visit(o);
                if (value != null) {
                    return value;
                }
            }
        }
        return null;
    }

    /** Reads a certificate chain and its key, and checks that they belong together. */
    public static KeyMaterial readKeyMaterial(Path certFile, Path keyFile) throws IOException {
        List<X509Certificate> chain = readCertificates(certFile);
        PrivateKey key = readPrivateKey(keyFile);
        if (!key.getAlgorithm().equals(chain.get(0).getPublicKey().getAlgorithm())) {
            throw new IOException(keyFile + ": a " + key.getAlgorithm() + " key does not match the "
                    + chain.get(0).getPublicKey().getAlgorithm() + " certificate in " + certFile);
        }
        return new KeyMaterial(key, chain);
    }

    public static String encode(Object... objects) {
        StringWriter sw = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
            for (Object o : objects) {
                w.writeObject(o);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e); // a StringWriter does not fail
        }
        return sw.toString();
    }
}
