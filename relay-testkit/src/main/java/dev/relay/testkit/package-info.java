/**
 * Test support shared by every module's tests (never shipped): {@link dev.relay.testkit.TestUpstream}, the one
 * scriptable SMTP server that plays the smarthost, {@link dev.relay.testkit.ProviderScripts}, the table that
 * makes it answer as each provider preset's provider does, {@link dev.relay.testkit.DkimVerifier}, the
 * independent verifier (dkimpy) of the DKIM signatures the relay makes, and {@link dev.relay.testkit.TestPostgres},
 * a real PostgreSQL server on loopback with a fresh database per test.
 */
package dev.relay.testkit;
