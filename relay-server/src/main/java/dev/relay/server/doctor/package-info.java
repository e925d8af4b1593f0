/**
 * {@code relay doctor}: diagnoses the way out to each configured upstream step by step (DNS, TCP, port 25, TLS and
 * the certificate, AUTH) and prints a verdict and a fix for each check.
 *
 * <p>Guarantee: no mail is sent unless {@code --send-test} asks for it; port 25 is only probed (a TCP connect to tell whether this network
 * blocks it), never used for mail.
 */
package dev.relay.server.doctor;
