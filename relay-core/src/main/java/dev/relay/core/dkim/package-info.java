/**
 * DKIM signing (RFC 6376; Ed25519 by RFC 8463) of a route's outgoing messages: {@link
 * dev.relay.core.dkim.DkimKey} reads and checks the private key (PEM, through the relay's {@code tls.Pem}, so
 * BouncyCastle where the JDK alone cannot read it), {@link dev.relay.core.dkim.DkimSigner} computes the {@code
 * DKIM-Signature} field with relaxed/relaxed canonicalization and SHA-256 while it reads the message once, and the
 * routing stage puts that field in front of what it sends.
 *
 * <p>Why not a library: the one served here ({@code org.simplejavamail:utils-mail-dkim}) signs a Jakarta Mail
 * {@code MimeMessage}. The relay never parses a message into one: it streams the spooled bytes, and writing a
 * message back out through Jakarta Mail may change them (folding, line ends, transfer encodings), which can break
 * the signature or alter what the client sent, and parsing holds the message in memory. Apache jDKIM is not
 * served. What DKIM signing needs is small (two canonicalizations, a hash, the JDK's {@code Signature} with
 * {@code SHA256withRSA} or {@code Ed25519}); here the body is hashed as it is read, in one buffer, whatever its
 * size. The tests check the canonicalizations against RFC 6376's example, the body hash and the key against
 * RFC 8463's example, and every signature the relay sends with an independent verifier (dkimpy).
 */
package dev.relay.core.dkim;
