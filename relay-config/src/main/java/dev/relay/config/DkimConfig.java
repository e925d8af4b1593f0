package dev.relay.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * A route's DKIM signature (RFC 6376): the signing domain ({@code d=}), the selector ({@code s=}) under which the
 * public key is published ({@code <selector>._domainkey.<domain>} TXT), the PEM file of the private key, the
 * algorithm and the header fields signed. The key itself is read by the routing stage (and checked before start
 * and reload), never kept here nor printed.
 *
 * @param headers lower-case names of the header fields to sign; {@link #DEFAULT_HEADERS} when none are configured
 */
public record DkimConfig(String domain, String selector, Path keyFile, Algorithm algorithm, List<String> headers) {
    /** The usual signed header set (the fields a reader sees or a MIME parser uses). */
    public static final List<String> DEFAULT_HEADERS = List.of("from", "to", "cc", "subject", "date", "message-id",
            "reply-to", "mime-version", "content-type", "content-transfer-encoding", "in-reply-to", "references",
            "list-unsubscribe");

    public DkimConfig {
        List<String> lower = new ArrayList<>();
        for (String h : headers == null || headers.isEmpty() ? DEFAULT_HEADERS : headers) {
            lower.add(h == null ? null : h.toLowerCase(Locale.ROOT));
        }
        headers = Collections.unmodifiableList(lower);
        algorithm = algorithm == null ? Algorithm.RSA_SHA256 : algorithm;
    }

    /**
     * The signing algorithms: RSA (RFC 6376) and Ed25519 (RFC 8463), both over SHA-256. The configuration spelling
     * ({@link #key()}: {@code rsa-sha256}, {@code ed25519-sha256}) is also the signature's {@code a=} tag.
     */
    public enum Algorithm implements ConfigKey {
        RSA_SHA256,
        ED25519_SHA256;

        /** The key type of the DNS record's {@code k=} tag. */
        public String keyType() {
            return key().substring(0, key().indexOf('-'));
        }

        public static Algorithm parse(String value) {
            for (Algorithm a : values()) {
                if (a.key().equalsIgnoreCase(value.trim())) {
                    return a;
                }
            }
            throw new IllegalArgumentException("unknown DKIM algorithm '" + value
                    + "': use rsa-sha256 or ed25519-sha256");
        }
    }
}
