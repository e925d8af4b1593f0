/**
 * Test support shared by every module's tests (never shipped): {@link dev.relay.testkit.TestUpstream}, the one
 * scriptable SMTP server that plays the smarthost, and {@link dev.relay.testkit.ProviderScripts}, the table that
 * makes it answer as each provider preset's provider does.
 */
package dev.relay.testkit;
