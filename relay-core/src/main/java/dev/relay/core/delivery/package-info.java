/**
 * The delivery stage: hands a spooled message to the upstream smarthost and reports, per recipient, what became
 * of it ({@link dev.relay.core.delivery.DeliveryEngine}, implemented over Netty by
 * {@link dev.relay.core.delivery.NettyDeliveryEngine}).
 *
 * <p>Guarantees: delivery never blocks the caller and never fails exceptionally; every failure is a per-recipient
 * {@link dev.relay.core.delivery.Outcome}. Connection, TLS, timeout and protocol failures and any refusal of the
 * relay's own credentials are transient (never a bounce), and so is any reply the account reply table
 * ({@link dev.relay.core.delivery.AccountReplies}: data per provider preset, generic rows, the user's rows) says is
 * about the relay's account, whatever its code; only the upstream's other 5xx about the message or a
 * recipient, or a message the upstream can never take (non-ASCII addresses without SMTPUTF8, over its SIZE
 * limit, 8-bit content that cannot be converted to 7 bit for an upstream without 8BITMIME), is permanent. 8-bit
 * bytes never reach an upstream that does not offer 8BITMIME: the message is converted to 7 bit while it is sent
 * ({@code SevenBitDowngrade}, {@code SevenBitConverter}), or its recipients fail with {@code 554 5.6.3}. With STARTTLS configured nothing is sent in plaintext after EHLO; TLS is 1.2 or 1.3 with
 * the chain and host name verified; port 25 is never used; the AUTH password never appears in a log or detail.
 * The DATA content is read through the spool's {@link dev.relay.core.spool.Body} (the message and nothing the
 * spool keeps after it), streamed, dot-stuffed, never held whole in memory.
 *
 * <p>Connections to an upstream are pooled ({@code ConnectionPool}: one event loop, no locks, a queue instead of
 * blocked threads) and reused with RSET; one that saw a 4xx or a protocol error is never reused. The rate limit
 * ({@code RateLimiter}) and the back-pressure after throttling replies ({@code Backpressure}) are pure functions
 * of the time. With a cluster, the rate is shared with the other replicas through a
 * {@link dev.relay.core.delivery.SharedQuota} ({@code SharedRateLimiter}: a local reservoir refilled in small
 * batches on a virtual thread, the replica's share of the rate while the shared state cannot be reached). Credentials are never sent before TLS unless the upstream is {@code tls: none} on loopback; XOAUTH2
 * tokens ({@code OAuth2TokenSource}) never appear in a log line. Pool events reach metrics through
 * {@link dev.relay.core.delivery.DeliveryListener}.
 *
 * <p>One connection is one {@code SmtpClientHandler}, the state machine driven by the upstream's replies (which
 * step waits for what, timers, reuse, failure); the conversation is told by its parts, each one per connection:
 * {@code SessionHello} (greeting, EHLO/HELO, STARTTLS), {@code UpstreamAuth} (PLAIN, LOGIN, XOAUTH2 and the token
 * fetch) and {@code TransactionFlight} (RSET, MAIL, RCPT, DATA, pipelining, the body, the 7-bit plan);
 * {@code UpstreamTrouble} turns an exception into a failure's detail.
 */
package dev.relay.core.delivery;
