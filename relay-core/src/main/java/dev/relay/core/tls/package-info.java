/** TLS material: PEM certificate chains and keys (read with BouncyCastle), and self-signed certificates. */
package dev.relay.core.tls;
