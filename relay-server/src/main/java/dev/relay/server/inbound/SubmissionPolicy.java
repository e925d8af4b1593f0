package dev.relay.server.inbound;

import dev.relay.config.AuthConfig;
import dev.relay.core.auth.UsersFile;
import java.net.InetAddress;

/** Who may submit: authenticated users from the users file, and clients in the trusted networks. */
public final class SubmissionPolicy {
    private final AuthConfig auth;
    private final UsersFile users;

    /** @param users the loaded users file, or null when only trusted networks may submit */
    public SubmissionPolicy(AuthConfig auth, UsersFile users) {
        this.auth = auth;
        this.users = users;
    }

    public boolean hasUsers() {
        return users != null;
    }

    public boolean authenticate(String user, String password) {
        return users != null && users.authenticate(user, password);
    }

    public boolean isTrusted(InetAddress client) {
        return auth.isTrusted(client);
    }
}
