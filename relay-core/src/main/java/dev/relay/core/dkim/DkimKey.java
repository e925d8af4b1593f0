package dev.relay.core.dkim;

import dev.relay.config.DkimConfig.Algorithm;
import dev.relay.core.tls.Pem;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Base64;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;

/**
 * A DKIM private key read from a PEM file (PKCS#8, or PKCS#1 for RSA, through {@link Pem}), checked against its
 * algorithm, with the public key as the DNS record publishes it ({@code p=}).
 *
 * @param publicKey the {@code p=} value: the base64 SubjectPublicKeyInfo of an RSA key (RFC 6376), the base64 of
 *                  the 32 raw bytes of an Ed25519 key (RFC 8463)
 * @param bits      the RSA modulus size; 256 for Ed25519
 */
public record DkimKey(Algorithm algorithm, PrivateKey privateKey, String publicKey, int bits) {
    /** Smaller RSA keys are refused (RFC 8301 says verifiers must not accept them). */
    public static final int MIN_RSA_BITS = 1024;
    /** Smaller RSA keys work but are warned about (RFC 8301 recommends at least 2048). */
    public static final int RECOMMENDED_RSA_BITS = 2048;

    /**
     * Reads and checks the key in {@code file}.
     *
     * @throws IOException with a message naming the file, what is wrong and what to do
     */
    public static DkimKey load(Path file, Algorithm algorithm) throws IOException {
        PrivateKey key;
        try {
            key = Pem.readPrivateKey(file);
        } catch (NoSuchFileException e) {
            throw new IOException("the key file " + file + " does not exist: check the path", e);
        } catch (IOException | RuntimeException e) {
            throw new IOException("cannot read a private key from " + file + " (" + e.getMessage() + "): it must be "
                    + "an unencrypted PEM key, PKCS#8 (BEGIN PRIVATE KEY) or PKCS#1 RSA (BEGIN RSA PRIVATE KEY)", e);
        }
        try {
            return algorithm == Algorithm.RSA_SHA256 ? rsa(file, key) : ed25519(file, key);
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new IOException("the key in " + file + " cannot be used for " + algorithm.key() + ": " + e, e);
        }
    }

    private static DkimKey rsa(Path file, PrivateKey key) throws IOException, GeneralSecurityException {
        if (!(key instanceof RSAPrivateCrtKey rsa)) {
            throw new IOException(mismatch(file, key, Algorithm.RSA_SHA256, "openssl genpkey -algorithm RSA "
                    + "-pkeyopt rsa_keygen_bits:2048"));
        }
        int bits = rsa.getModulus().bitLength();
        if (bits < MIN_RSA_BITS) {
            throw new IOException("the RSA key in " + file + " has " + bits + " bits: DKIM needs at least "
                    + MIN_RSA_BITS + " (RFC 8301), " + RECOMMENDED_RSA_BITS + " recommended; make a new one with "
                    + "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048");
        }
        byte[] spki = KeyFactory.getInstance("RSA")
                .generatePublic(new RSAPublicKeySpec(rsa.getModulus(), rsa.getPublicExponent())).getEncoded();
        return new DkimKey(Algorithm.RSA_SHA256, key, Base64.getEncoder().encodeToString(spki), bits);
    }

    private static DkimKey ed25519(Path file, PrivateKey key) throws IOException, GeneralSecurityException {
        PrivateKeyInfo info = PrivateKeyInfo.getInstance(key.getEncoded());
        if (!info.getPrivateKeyAlgorithm().getAlgorithm().getId().equals("1.3.101.112")) { // id-Ed25519
            throw new IOException(mismatch(file, key, Algorithm.ED25519_SHA256, "openssl genpkey -algorithm "
                    + "ed25519"));
        }
        byte[] seed = ASN1OctetString.getInstance(info.parsePrivateKey()).getOctets();
        byte[] raw = new Ed25519PrivateKeyParameters(seed).generatePublicKey().getEncoded();
        // the JDK's own key, whichever provider read the file: Signature "Ed25519" takes it
        PrivateKey jdk = KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(key.getEncoded()));
        return new DkimKey(Algorithm.ED25519_SHA256, jdk, Base64.getEncoder().encodeToString(raw), 256);
    }

    private static String mismatch(Path file, PrivateKey key, Algorithm algorithm, String howToMake) {
        return "the key in " + file + " is a " + key.getAlgorithm() + " key, not one for " + algorithm.key()
                + ": set the algorithm that matches the key, or make a key with " + howToMake;
    }

    /** True for an RSA key shorter than {@link #RECOMMENDED_RSA_BITS}: it works, but should be replaced. */
    public boolean weak() {
        return algorithm == Algorithm.RSA_SHA256 && bits < RECOMMENDED_RSA_BITS;
    }

    /** The TXT record to publish at {@code <selector>._domainkey.<domain>}: {@code v=DKIM1; k=rsa; p=...}. */
    public String dnsRecord() {
        return "v=DKIM1; k=" + algorithm.keyType() + "; p=" + publicKey;
    }

    @Override
    public String toString() { // never the private key
        return "DkimKey[" + algorithm.key() + ", " + bits + " bits]";
    }
}
