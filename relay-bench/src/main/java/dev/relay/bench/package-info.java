/**
 * The load harness's client ({@code LoadGenerator}, one {@code LoadSession} per connection, paced open loop by
 * {@code Pacing} and {@code PacedStart}) and the idle-session holder ({@code IdleSessions}). Never shipped in the
 * release; it measures a relay or Postfix from outside, over real sockets, and trusts any server certificate.
 */
package dev.relay.bench;
