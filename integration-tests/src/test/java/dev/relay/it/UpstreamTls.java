package dev.relay.it;

import dev.relay.core.tls.KeyMaterial;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/** The server-side TLS context a test upstream serves {@code material} with (null gives null: no STARTTLS). */
final class UpstreamTls {
    private UpstreamTls() {
    }

    static SSLContext context(KeyMaterial material) throws GeneralSecurityException, IOException {
        if (material == null) {
            return null;
        }
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        char[] pass = "upstream".toCharArray();
        ks.setKeyEntry("upstream", material.key(), pass, material.chain().toArray(Certificate[]::new));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, pass);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }
}
