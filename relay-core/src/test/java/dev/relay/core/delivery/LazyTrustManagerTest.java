package dev.relay.core.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.GeneralSecurityException;
import java.security.KeyStoreException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.X509ExtendedTrustManager;
import org.junit.jupiter.api.Test;

class LazyTrustManagerTest {
    private final AtomicInteger loads = new AtomicInteger();

    private X509ExtendedTrustManager counted() throws GeneralSecurityException {
        loads.incrementAndGet();
        return TrustBundle.systemDefault();
    }

    @Test
    void systemStoreIsLoadedAtTheFirstUseNotBeforeAndOnlyOnce() throws Exception {
        LazyTrustManager lazy = new LazyTrustManager("the system trust store", this::counted);
        assertThat(loads).hasValue(0);
        X509Certificate[] issuers = lazy.getAcceptedIssuers();
        assertThat(issuers).isNotEmpty(); // the JDK's cacerts
        X509Certificate selfSigned = TestCertificates.selfSigned("dns:localhost").certificate();
        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(() -> lazy.checkServerTrusted(new X509Certificate[] {selfSigned}, "ECDHE_ECDSA"))
                    .isInstanceOf(CertificateException.class);
        }
        assertThat(loads).hasValue(1);
    }

    @Test
    void aStoreThatCannotBeLoadedFailsTheCheckWithTheReasonAndIsTriedAgain() {
        LazyTrustManager lazy = new LazyTrustManager("the system trust store", () -> {
            loads.incrementAndGet();
            throw new KeyStoreException("cacerts: no such file");
        });
        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(() -> lazy.checkServerTrusted(new X509Certificate[0], "RSA"))
                    .isInstanceOf(CertificateException.class)
                    .hasMessage("cannot load the system trust store: cacerts: no such file");
        }
        assertThat(lazy.getAcceptedIssuers()).isEmpty();
        assertThat(loads).hasValue(3);
    }
}
