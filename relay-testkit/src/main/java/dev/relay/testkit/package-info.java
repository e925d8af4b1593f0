/**
 * Test support shared by every module's tests (never shipped): {@link dev.relay.testkit.TestUpstream}, the one
 * scriptable SMTP server that plays the smarthost.
 */
package dev.relay.testkit;
