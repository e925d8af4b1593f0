package dev.relay.core.auth;

/** The users file cannot be used; the message names the file and line, never a hash or a password. */
public class UsersFileException extends Exception {
    public UsersFileException(String message) {
        super(message);
    }
}
