package dev.relay.core.tls;

import java.math.BigInteger;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.util.Arrays;

/**
 * Whether a private key belongs to a certificate, read from the public part the key itself carries, as OpenSSL's
 * {@code X509_check_private_key} compares them: an RSA key's modulus and public exponent, an EC key's public point
 * (the PKCS#8 and SEC 1 files OpenSSL, Go and most other tools write include it). No signature is
 * made: one costs about 40 ms of a start in code that is not yet compiled (docs/performance.md, "Start-up"). A key
 * that carries no public part (null) is left to a signature.
 */
public final class KeyPairs {
    private KeyPairs() {
    }

    /** True or false when the key carries its public part and it is or is not {@code cert}'s; null when not. */
    public static Boolean publicPartMatches(PrivateKey key, PublicKey cert) {
        if (key instanceof RSAPrivateCrtKey rsa && cert instanceof RSAPublicKey pub) {
            if (rsa.getPublicExponent() == null || rsa.getPublicExponent().signum() == 0) {
                return null;
            }
            return rsa.getModulus().equals(pub.getModulus()) && rsa.getPublicExponent().equals(pub.getPublicExponent());
        }
        if (key instanceof ECPrivateKey ec && cert instanceof ECPublicKey pub) {
            if (!sameCurve(ec.getParams(), pub.getParams())) {
                return false; // a key of another curve is another key, with or without its point
            }
            ECPoint point = embeddedPoint(ec.getEncoded(), pub.getParams());
            return point == null ? null : point.equals(pub.getW());
        }
        return null;
    }

    private static boolean sameCurve(ECParameterSpec a, ECParameterSpec b) {
        return a.getCurve().equals(b.getCurve()) && a.getGenerator().equals(b.getGenerator())
                && a.getOrder().equals(b.getOrder()) && a.getCofactor() == b.getCofactor();
    }

    /**
     * The uncompressed public point in a PKCS#8 EC key's ECPrivateKey (RFC 5915: SEQUENCE { version, privateKey,
     * [0] parameters OPTIONAL, [1] BIT STRING publicKey OPTIONAL }), or null.
     */
    static ECPoint embeddedPoint(byte[] pkcs8, ECParameterSpec params) {
        if (pkcs8 == null) {
            return null;
        }
        JdkPem.Der d = new JdkPem.Der(pkcs8);
        if (!d.enter(0x30) || !d.skip(0x02) || !d.skip(0x30) || !d.enter(0x04) || !d.enter(0x30)
                || !d.skip(0x02) || !d.skip(0x04) || (d.at(0xa0) && !d.skip(0xa0)) || !d.enter(0xa1)) {
            return null;
        }
        byte[] bits = d.contents(0x03);
        int size = (params.getCurve().getField().getFieldSize() + 7) / 8;
        if (bits == null || bits.length != 2 + 2 * size || bits[0] != 0 || bits[1] != 0x04) {
            return null; // not an uncompressed point of this curve's size
        }
        return new ECPoint(new BigInteger(1, Arrays.copyOfRange(bits, 2, 2 + size)),
                new BigInteger(1, Arrays.copyOfRange(bits, 2 + size, 2 + 2 * size)));
    }
}
