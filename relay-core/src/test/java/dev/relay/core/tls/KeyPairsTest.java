package dev.relay.core.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

class KeyPairsTest {
    /** An EC P-256 key as `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` writes it. */
    private static final String OPENSSL_EC = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgJ/DkuEAakQ2THu9r2qj2dpF29oQFZWx8Hd"
            + "xJnFvI4iqhRANCAASknCGpfZRH+g/aIl9oFE/chzUs/3g4+i/RGMOW+kLQi8jd3XJtaNs3rDnwyNpL+TaEHC/Iyjqn"
            + "Qih/cSBZb1I5";

    private static KeyPair pair(String algorithm, Object spec) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
        if (spec instanceof ECGenParameterSpec ec) {
            g.initialize(ec);
        } else if (spec instanceof Integer bits) {
            g.initialize(bits);
        }
        return g.generateKeyPair();
    }

    @Test
    void anEcKeyWithItsPublicPointIsCheckedByThePoint() throws Exception {
        KeyMaterial own = SelfSignedCertificate.generate(List.of("a.example"), Duration.ofDays(1));
        KeyMaterial other = SelfSignedCertificate.generate(List.of("b.example"), Duration.ofDays(1));
        assertThat(KeyPairs.embeddedPoint(own.key().getEncoded(),
                ((java.security.interfaces.ECPublicKey) own.leaf().getPublicKey()).getParams()))
                .isEqualTo(((java.security.interfaces.ECPublicKey) own.leaf().getPublicKey()).getW());
        assertThat(KeyPairs.publicPartMatches(own.key(), own.leaf().getPublicKey())).isTrue();
        assertThat(KeyPairs.publicPartMatches(other.key(), own.leaf().getPublicKey())).isFalse();
    }

    @Test
    void anOpensslEcKeyCarriesItsPoint() throws Exception {
        PrivateKey key = KeyFactory.getInstance("EC")
                .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(OPENSSL_EC)));
        java.security.interfaces.ECPublicKey someCert =
                (java.security.interfaces.ECPublicKey) pair("EC", new ECGenParameterSpec("secp256r1")).getPublic();
        assertThat(KeyPairs.embeddedPoint(key.getEncoded(), someCert.getParams())).isNotNull();
        assertThat(KeyPairs.publicPartMatches(key, someCert)).isFalse();
    }

    @Test
    void anEcKeyWithoutItsPointOrOnAnotherCurveIsLeftToASignatureOrRefused() throws Exception {
        KeyPair jdk = pair("EC", new ECGenParameterSpec("secp256r1")); // the JDK's encoding has no point
        assertThat(KeyPairs.publicPartMatches(jdk.getPrivate(), jdk.getPublic())).isNull();
        KeyMaterial p256 = SelfSignedCertificate.generate(List.of("a.example"), Duration.ofDays(1));
        KeyPair p384 = pair("EC", new ECGenParameterSpec("secp384r1"));
        assertThat(KeyPairs.publicPartMatches(p256.key(), p384.getPublic())).isFalse();
    }

    @Test
    void rsaKeysAreCheckedByModulusAndExponentAndOtherKindsAreLeftToASignature() throws Exception {
        KeyPair a = pair("RSA", 2048);
        KeyPair b = pair("RSA", 2048);
        assertThat(KeyPairs.publicPartMatches(a.getPrivate(), a.getPublic())).isTrue();
        assertThat(KeyPairs.publicPartMatches(b.getPrivate(), a.getPublic())).isFalse();
        KeyPair ed = pair("Ed25519", null);
        assertThat(KeyPairs.publicPartMatches(ed.getPrivate(), ed.getPublic())).isNull();
        assertThat(KeyPairs.publicPartMatches(ed.getPrivate(), a.getPublic())).isNull();
        assertThat(KeyPairs.embeddedPoint(new byte[] {0x30, 0x03, 0x02, 0x01}, null)).isNull();
    }
}
