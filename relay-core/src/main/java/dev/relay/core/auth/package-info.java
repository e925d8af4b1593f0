/**
 * Authentication of submitting clients: bcrypt users files. Guarantees: plaintext passwords are refused at
 * load, checks take the same time for unknown users, and no secret appears in an exception message.
 */
package dev.relay.core.auth;
