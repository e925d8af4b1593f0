/**
 * Test support shared by every module's tests (never shipped): {@link dev.relay.testkit.TestUpstream}, the one
 * scriptable SMTP server that plays the smarthost, and {@link dev.relay.testkit.DkimVerifier}, the independent
 * verifier (dkimpy) of the DKIM signatures the relay makes.
 */
package dev.relay.testkit;
