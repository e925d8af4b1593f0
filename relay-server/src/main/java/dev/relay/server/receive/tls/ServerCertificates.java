package dev.relay.server.receive.tls;

import dev.relay.config.TlsConfig;
import dev.relay.core.tls.KeyMaterial;
import dev.relay.core.tls.KeyPairs;
import dev.relay.core.tls.Pem;
import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedKeyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The certificates the listeners serve: a default pair, and optionally more pairs chosen by the name the client
 * asks for in TLS SNI ({@code mail.example.com} exactly, or {@code *.example.org} for one label). The files are
 * read again when their content changes (read through symbolic links, so a Kubernetes secret or cert-manager
 * rotation, which swaps a symlink, is seen): new handshakes get the new certificates, handshakes under way and
 * established sessions keep theirs. A new set that does not load (unparsable, or a key that does not belong to
 * its certificate) is logged and the set loaded before is kept whole.
 */
public final class ServerCertificates {
    private static final Logger log = LoggerFactory.getLogger(ServerCertificates.class);

    /** One configured pair; {@code names} is empty for the default pair. */
    private record Source(List<String> names, Path cert, Path key) {
    }

    /** One loaded set: index 0 is the default pair, then the SNI pairs in configuration order. */
    private record Snapshot(int generation, List<KeyMaterial> materials, List<List<String>> names) {
    }

    private final List<Source> sources;
    private volatile Snapshot current;
    private volatile Snapshot previous; // a handshake may have chosen an alias just before a reload
    private byte[] fingerprint;
    private final X509ExtendedKeyManager keyManager = new SniKeyManager();

    private ServerCertificates(List<Source> sources, Snapshot first, byte[] fingerprint) {
        this.sources = sources;
        this.current = first;
        this.previous = first;
        this.fingerprint = fingerprint;
    }

    /** Reads the pairs of {@code tls}; any problem is an IOException naming the file. */
    public static ServerCertificates load(TlsConfig tls) throws IOException {
        List<Source> sources = new ArrayList<>();
        sources.add(new Source(List.of(), tls.cert(), tls.key()));
        for (TlsConfig.SniCertificate sc : tls.sni()) {
            sources.add(new Source(sc.names().stream().map(n -> n.toLowerCase(Locale.ROOT)).toList(), sc.cert(),
                    sc.key()));
        }
        byte[] fingerprint = fingerprint(sources);
        return new ServerCertificates(List.copyOf(sources), read(sources, 1), fingerprint);
    }

    /** A fixed certificate, never reloaded (test servers, the demo). */
    public static ServerCertificates fixed(KeyMaterial material) {
        return new ServerCertificates(List.of(), new Snapshot(1, List.of(material), List.of(List.of())), null);
    }

    /**
     * Reads the files again if their content changed since the last look.
     *
     * @return true if new certificates are served from now on
     */
    public synchronized boolean reloadIfChanged() {
        if (sources.isEmpty()) {
            return false;
        }
        byte[] now = fingerprint(sources);
        if (now == null || Arrays.equals(now, fingerprint)) {
            return false; // a file unreadable for a moment (being replaced), or nothing changed
        }
        fingerprint = now;
        try {
            Snapshot next = read(sources, current.generation() + 1);
            previous = current;
            current = next;
            log.info("certificates reloaded: {}", describe(next));
            return true;
        } catch (IOException e) {
            log.error("certificate files changed but cannot be used, still serving the certificates loaded before "
                    + "(default expires {}): {}", current.materials().get(0).leaf().getNotAfter().toInstant(),
                    e.getMessage());
            return false;
        }
    }

    /** When the first of the served certificates expires. */
    public Instant notAfter() {
        Instant first = Instant.MAX;
        for (KeyMaterial m : current.materials()) {
            Instant end = m.leaf().getNotAfter().toInstant();
            first = end.isBefore(first) ? end : first;
        }
        return first;
    }

    /** The certificate a client asking for {@code serverName} (null: none) gets now. */
    public X509Certificate served(String serverName) {
        Snapshot s = current;
        return s.materials().get(select(s, serverName)).leaf();
    }

    X509ExtendedKeyManager keyManager() {
        return keyManager;
    }

    private static Snapshot read(List<Source> sources, int generation) throws IOException {
        List<KeyMaterial> materials = new ArrayList<>();
        List<List<String>> names = new ArrayList<>();
        for (Source s : sources) {
            KeyMaterial m = Pem.readKeyMaterial(s.cert(), s.key());
            checkKeyMatches(m, s);
            materials.add(m);
            names.add(s.names());
        }
        return new Snapshot(generation, List.copyOf(materials), List.copyOf(names));
    }

    /**
     * A key of the right type but of another certificate fails here: its own public part is compared with the
     * certificate's ({@link KeyPairs}), or, for a key without one, a few bytes are signed and verified.
     */
    private static void checkKeyMatches(KeyMaterial m, Source s) throws IOException {
        Boolean matches = KeyPairs.publicPartMatches(m.key(), m.leaf().getPublicKey());
        boolean belongs;
        try {
            belongs = matches != null ? matches : signatureVerifies(m);
        } catch (GeneralSecurityException e) {
            throw new IOException(s.key() + ": cannot check the key against the certificate in " + s.cert() + ": "
                    + e.getMessage(), e);
        }
        if (!belongs) {
            throw new IOException(s.key() + ": the private key does not belong to the certificate in " + s.cert());
        }
    }

    /** Whether the certificate's public key verifies what the private key signs (true for a type not known here). */
    private static boolean signatureVerifies(KeyMaterial m) throws GeneralSecurityException {
        String algorithm = switch (m.leaf().getPublicKey().getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> null;
        };
        if (algorithm == null) {
            return true; // Pem already checked that the key types agree
        }
        byte[] probe = "relay key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        Signature sign = Signature.getInstance(algorithm);
        sign.initSign(m.key());
        sign.update(probe);
        byte[] signature = sign.sign();
        Signature verify = Signature.getInstance(algorithm);
        verify.initVerify(m.leaf().getPublicKey());
        verify.update(probe);
        return verify.verify(signature);
    }

    /** A digest of every file's content, or null if one cannot be read right now. */
    private static byte[] fingerprint(List<Source> sources) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (Source s : sources) {
                for (Path file : List.of(s.cert(), s.key())) {
                    byte[] content = Files.readAllBytes(file); // follows symbolic links
                    digest.update(ByteBuffer.allocate(4).putInt(content.length).array());
                    digest.update(content);
                }
            }
            return digest.digest();
        } catch (IOException e) {
            return null;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String describe(Snapshot s) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < s.materials().size(); i++) {
            X509Certificate leaf = s.materials().get(i).leaf();
            parts.add((i == 0 ? "default" : String.join(",", s.names().get(i))) + " "
                    + leaf.getSubjectX500Principal().getName() + " until " + leaf.getNotAfter().toInstant());
        }
        return String.join("; ", parts);
    }

    /** The index of the pair for {@code serverName}: the first SNI entry naming it, else the default pair. */
    private static int select(Snapshot s, String serverName) {
        if (serverName == null) {
            return 0;
        }
        String name = serverName.toLowerCase(Locale.ROOT);
        for (int i = 1; i < s.names().size(); i++) {
            for (String pattern : s.names().get(i)) {
                if (matches(pattern, name)) {
                    return i;
                }
            }
        }
        return 0;
    }

    static boolean matches(String pattern, String name) {
        if (pattern.startsWith("*.")) {
            int dot = name.indexOf('.');
            return dot > 0 && name.substring(dot).equals(pattern.substring(1));
        }
        return pattern.equals(name);
    }

    private static String requestedName(SSLSession handshake) {
        if (handshake instanceof ExtendedSSLSession ext) {
            for (SNIServerName n : ext.getRequestedServerNames()) {
                if (n instanceof SNIHostName host) {
                    return host.getAsciiName();
                }
            }
        }
        return null;
    }

    private static String keyType(KeyMaterial m) {
        return m.leaf().getPublicKey().getAlgorithm(); // "RSA" or "EC", as the JDK asks for them
    }

    /**
     * Serves the pair the client's SNI name selects. Aliases carry the generation of the set they were chosen
     * from, so a reload between choosing and reading the chain never mixes a certificate with another key.
     */
    private final class SniKeyManager extends X509ExtendedKeyManager {
        private String choose(String keyType, SSLSession handshake) {
            Snapshot s = current;
            int index = select(s, requestedName(handshake));
            return keyType(s.materials().get(index)).equals(keyType) ? s.generation() + ":" + index : null;
        }

        private KeyMaterial material(String alias) {
            if (alias == null) {
                return null;
            }
            String[] parts = alias.split(":", 2);
            try {
                int generation = Integer.parseInt(parts[0]);
                int index = Integer.parseInt(parts[1]);
                for (Snapshot s : new Snapshot[] {current, previous}) {
                    if (s.generation() == generation && index < s.materials().size()) {
                        return s.materials().get(index);
                    }
                }
            } catch (RuntimeException e) {
                return null;
            }
            return null;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return choose(keyType, socket instanceof SSLSocket ssl ? ssl.getHandshakeSession() : null);
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return choose(keyType, engine == null ? null : engine.getHandshakeSession());
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            Snapshot s = current;
            List<String> aliases = new ArrayList<>();
            for (int i = 0; i < s.materials().size(); i++) {
                if (keyType(s.materials().get(i)).equals(keyType)) {
                    aliases.add(s.generation() + ":" + i);
                }
            }
            return aliases.isEmpty() ? null : aliases.toArray(String[]::new);
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            KeyMaterial m = material(alias);
            return m == null ? null : m.chain().toArray(X509Certificate[]::new);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            KeyMaterial m = material(alias);
            return m == null ? null : m.key();
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return null; // server side only
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return null;
        }
    }
}
