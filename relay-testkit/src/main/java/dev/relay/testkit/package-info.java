/**
 * Test support shared by every module's tests (never shipped): {@link dev.relay.testkit.TestUpstream}, the one
 * scriptable SMTP server that plays the smarthost, and {@link dev.relay.testkit.TestPostgres}, a real PostgreSQL
 * server on loopback with a fresh database per test.
 */
package dev.relay.testkit;
